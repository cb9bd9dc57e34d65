"""Speech through the whole chain as a bulletin is aired: ``loa process`` (the controller's
upload path, :func:`audio.pipeline.process_file`) from a 16 kHz WAV to the delivered Ogg/Opus
file, decoded again and lined up with the input for scoring.

The chain trims silent ends and the codec adds a delay, so the output is shifted against the
input; :func:`line_up` finds the shift by cross-correlation (either way) and pads what the trim
cut with silence, which PESQ's own alignment then sees as it would the original pauses.

    .venv/bin/python -m bench.chain_quality [--utterances 2] [--set opus_complexity=0 ...]
        [--input-rate 48000] [--nudge up|down|gain [--gain-steps 4]]

scores the clean utterances of both splits of the denoise corpus (:mod:`bench.corpus_wide`)
through the chain as aired, with PESQ-WB, and says how many passes and whole encodes each took.
``--input-rate``: the utterances enter the chain at that rate (``scipy.signal.resample_poly`` up
before, and the output back to 16 kHz with it after), as a phone's 48 kHz recording does.
``--nudge``: the input moved by one float32 step up or down, or by ``--gain-steps`` times 2⁻¹⁴
of gain, before it is written: how much the scores move when only a few input bits change
(libopus codes a changed input differently all through).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.signal

from audio.config import PipelineConfig
from audio.decode import decode_file
from audio.encode import write_audio
from audio.pipeline import process_file
from audio.report import ProcessingReport
from audio.resample import resample
from audio.samples import FloatArray

# the controller's defaults (controller.broadcast.ingest.pipeline_config with the default
# ControllerConfig: -16 LUFS, the standard denoiser, Opus at 32 kbit/s)
AIRED = PipelineConfig()


def line_up(y: FloatArray, x: FloatArray, max_lag: int) -> FloatArray:
    """``y`` shifted by the lag (within ``±max_lag`` samples) that best matches ``x``, cut or
    padded with zeros to ``x``'s length."""
    c = scipy.signal.correlate(y, x, mode="full", method="fft")
    mid = x.shape[0] - 1
    lo, hi = max(0, mid - max_lag), min(c.shape[0], mid + max_lag + 1)
    lag = int(np.argmax(c[lo:hi])) + lo - mid  # y[n + lag] ~ x[n]
    out = np.zeros_like(x)
    if lag >= 0:
        part = y[lag : lag + x.shape[0]]
        out[: part.shape[0]] = part
    else:
        part = y[: x.shape[0] + lag]
        out[-lag : -lag + part.shape[0]] = part
    return out


def whole_chain(
    x: FloatArray, sr: int, config: PipelineConfig = AIRED, *, container: str = "ogg"
) -> FloatArray:
    """``x`` through decode, filters, denoiser, trim, leveller, compressor, loudness, limiter
    and the delivery codec (``container``: ``ogg`` as aired, ``wav`` to leave the codec out),
    decoded and lined up with ``x`` at ``sr``."""
    return chain_report(x, sr, config, container=container)[0]


def chain_report(
    x: FloatArray, sr: int, config: PipelineConfig = AIRED, *, container: str = "ogg"
) -> tuple[FloatArray, ProcessingReport]:
    """:func:`whole_chain`, and the chain's processing report."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / f"out.{container}"
        write_audio(src, x, sr)
        report = process_file(src, dst, config)
        dec = decode_file(dst)
    y = resample(dec.samples, dec.sample_rate, sr)
    # the trim cuts at most the silent ends (< 1 s here)
    return line_up(y, x, max_lag=sr), report


def _at_rate(
    x: FloatArray, rate: int, nudge: str | None, config: PipelineConfig, gain_steps: int = 4
) -> tuple[FloatArray, ProcessingReport]:
    """:func:`chain_report` of 16 kHz ``x`` entering the chain at ``rate`` (scipy's resampler
    both ways, so the chain's own is measured only inside it), optionally nudged."""
    from bench.corpus import SR

    g = math.gcd(rate, SR)
    xin = scipy.signal.resample_poly(x, rate // g, SR // g).astype(np.float32)
    if nudge == "up":
        xin = np.nextafter(xin, np.float32(2.0))
    elif nudge == "down":
        xin = np.nextafter(xin, np.float32(-2.0))
    elif nudge == "gain":
        xin = xin * np.float32(1 + gain_steps * 2**-14)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.ogg"
        write_audio(src, xin, rate)
        report = process_file(src, dst, config)
        dec = decode_file(dst)
    g = math.gcd(dec.sample_rate, SR)
    y = scipy.signal.resample_poly(dec.samples, SR // g, dec.sample_rate // g)
    return line_up(y.astype(np.float32), x, max_lag=SR), report


def main() -> None:
    from pesq import pesq

    from bench import corpus_wide
    from bench.corpus import SR

    ap = argparse.ArgumentParser(description="clean speech through the whole chain, PESQ-WB")
    ap.add_argument("--utterances", type=int, default=2, help="first N per split (0: all)")
    ap.add_argument("--input-rate", type=int, default=SR, help="the chain's input rate (Hz)")
    ap.add_argument(
        "--nudge", choices=("up", "down", "gain"), help="move the input's bits a little"
    )
    ap.add_argument("--gain-steps", type=int, default=4, help="--nudge gain: this many 2**-14")
    ap.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="PipelineConfig"
    )
    a = ap.parse_args()
    config = AIRED.model_validate(AIRED.model_dump() | dict(kv.split("=", 1) for kv in a.set))
    print(
        f"opus_complexity {config.opus_complexity}, {config.opus_application}, "
        f"{config.bitrate // 1000} kbit/s, {config.opus_frame_ms} ms\n"
    )
    print("| split | utterance | PESQ-WB | passes | whole encodes | header gain dB | s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    means = []
    for split in corpus_wide.SPLITS:
        clean = corpus_wide.cases([split], [], [], clean=True)
        scores = []
        for case in clean[: a.utterances or None]:
            m = corpus_wide.mixture(case)  # clean: the utterance as the denoise benchmark has it
            t = time.perf_counter()
            if a.input_rate == SR and a.nudge is None:
                y, r = chain_report(m.noisy, SR, config)
            else:
                y, r = _at_rate(m.noisy, a.input_rate, a.nudge, config, a.gain_steps)
            dt = time.perf_counter() - t
            scores.append(float(pesq(SR, m.reference, y, "wb")))
            print(
                f"| {split} | {case.utterance} | {scores[-1]:.2f} | {r.encode_passes} | "
                f"{r.whole_encodes} | {r.output_gain_db:+.2f} | {dt:.1f} |"
            )
        means.append(f"{split} {np.mean(scores):.2f}")
    print(f"\nmean PESQ-WB: {', '.join(means)}")


if __name__ == "__main__":
    main()
