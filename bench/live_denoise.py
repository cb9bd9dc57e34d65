"""Can the denoiser run in the live chain? Added latency, CPU and quality of a streaming use.

    python -m bench.live_denoise [--noises white,pink,fan,engine] [--snr 5]
    python -m bench.live_denoise --noises clean      # the speech alone: does it do no harm?

Each of the corpus's six utterances (bench.corpus, resampled to 48 kHz), mixed with each noise
at ``--snr`` dB and played four times in a row (about 15 s, so the live denoiser's noise
tracker settles as it would a few seconds into a session), goes through
:class:`audio.live_denoise.StreamingDenoiser` in 40 ms feeds, as a live session feeds it, for
each block / look-ahead / context below, and through the whole-recording
:func:`audio.denoise.denoise` for reference. Figures: the latency the streaming use adds
(block + look-ahead: what the points' playout delay must absorb), its CPU in % of one core
(process time over audio time), and SI-SDR (Le Roux et al. 2019) against the clean speech,
averaged over the mixtures: noisy input, whole-recording, streaming.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.signal

from audio.denoise import denoise
from audio.live_denoise import StreamingDenoiser
from bench import corpus
from bench.denoise_quality import si_sdr

RATE = 48000
FEED = 1920  # 40 ms, as a live session's HTTP body or WebSocket message arrives
CONFIGS = [  # (block_s, lookahead_s, context_s)
    (0.1, 0.05, 1.5),
    (0.2, 0.1, 1.5),
    (0.2, 0.1, 3.0),
    (0.4, 0.2, 3.0),
]


def up(x: np.ndarray) -> np.ndarray:
    y: np.ndarray = scipy.signal.resample_poly(x, RATE // corpus.SR, 1).astype(np.float32)
    return y


def streamed(x: np.ndarray, cfg: tuple[float, float, float]) -> tuple[np.ndarray, float]:
    block, ahead, context = cfg
    dn = StreamingDenoiser(block_s=block, lookahead_s=ahead, context_s=context)
    t0 = time.process_time()
    out = [dn.process(x[i : i + FEED]) for i in range(0, len(x), FEED)]
    out.append(dn.flush())
    return np.concatenate(out), time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noises", default="white,pink,fan,engine")
    parser.add_argument("--snr", type=float, default=5.0)
    args = parser.parse_args()
    noisy_s, whole_s = [], []
    per_cfg: dict[tuple[float, float, float], list[float]] = {c: [] for c in CONFIGS}
    cpu: dict[tuple[float, float, float], float] = dict.fromkeys(CONFIGS, 0.0)
    whole_cpu, seconds = 0.0, 0.0
    for k, kind in enumerate(args.noises.split(",")):
        for j, u in enumerate(corpus.utterances()):
            clean16 = np.tile(u.speech, 4)
            rep = corpus.Utterance(u.name, clean16, slice(0, len(clean16)))
            mixed16 = (  # "clean": the speech alone, does the denoiser do no harm?
                clean16
                if kind == "clean"
                else corpus.mix(rep, corpus.noise(kind, len(clean16), seed=100 * k + j), args.snr)
            )
            clean, mixed = up(clean16), up(mixed16)
            seconds += len(mixed) / RATE
            noisy_s.append(si_sdr(clean, mixed))
            t0 = time.process_time()
            whole_s.append(si_sdr(clean, denoise(mixed, RATE)))
            whole_cpu += time.process_time() - t0
            for cfg in CONFIGS:
                y, spent = streamed(mixed, cfg)
                assert len(y) == len(mixed)
                per_cfg[cfg].append(si_sdr(clean, y))
                cpu[cfg] += spent
    print(f"{seconds:.0f} s of noisy speech at {args.snr:g} dB SNR ({args.noises})")
    print("method | added latency ms | CPU % of one core | SI-SDR dB")
    print(f"noisy input | 0 | 0 | {statistics.mean(noisy_s):.1f}")
    print(
        f"whole recording (bulletins) | – | {100 * whole_cpu / seconds:.1f} |"
        f" {statistics.mean(whole_s):.1f}"
    )
    for cfg in CONFIGS:
        block, ahead, context = cfg
        print(
            f"live: block {block * 1000:.0f} ms, look-ahead {ahead * 1000:.0f} ms, context"
            f" {context:g} s | {(block + ahead) * 1000:.0f} | {100 * cpu[cfg] / seconds:.1f} |"
            f" {statistics.mean(per_cfg[cfg]):.1f}"
        )


if __name__ == "__main__":
    main()
