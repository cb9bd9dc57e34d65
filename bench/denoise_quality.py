"""Noise-reduction quality benchmark: PESQ-WB, STOI and SI-SDR on a generated corpus.

Run: ``.venv/bin/python -m bench.denoise_quality`` (about 2 minutes on 2 cores);
``--quick`` scores only ``ours`` on the noisy mixtures (under a minute), for tuning with
``--tune name=value``; compare against the other methods' figures from a full run.

Every method sees the same 16 kHz mixtures (6 Vietnamese utterances x 5 noises x 0/5/10 dB SNR,
see :mod:`bench.corpus`) and the clean utterances alone (do no harm). Methods:

* ``noisy``        the input itself;
* ``ours``         :func:`audio.denoise.denoise`, blind (no noise clip);
* ``nr-stat``      noisereduce, stationary, no noise clip (estimates from the mixture);
* ``nr-stat+clip`` noisereduce, stationary, given 2 s of the same noise alone;
* ``nr-nonstat``   noisereduce, non-stationary.

A last line times :func:`audio.denoise.denoise` on 10 minutes of 48 kHz mono and reports its
peak memory.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.signal

from audio.denoise import denoise
from audio.samples import FloatArray
from bench import corpus

Method = Callable[[FloatArray, FloatArray | None], FloatArray]
METHODS = ["noisy", "ours", "nr-stat", "nr-stat+clip", "nr-nonstat"]


def _nr(x: FloatArray, clip: FloatArray | None, *, stationary: bool) -> FloatArray:
    import noisereduce

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = noisereduce.reduce_noise(y=x, sr=corpus.SR, stationary=stationary, y_noise=clip)
    return np.asarray(y, dtype=np.float32)[: x.shape[0]]


def run_method(name: str, x: FloatArray, clip: FloatArray | None, tuning: dict[str, float]):
    if name == "noisy":
        return x
    if name == "ours":
        return denoise(x, corpus.SR, **tuning)
    if name == "nr-stat":
        return _nr(x, None, stationary=True)
    if name == "nr-stat+clip":
        return _nr(x, clip, stationary=True)
    if name == "nr-nonstat":
        return _nr(x, None, stationary=False)
    raise ValueError(f"unknown method {name}")


def si_sdr(ref: FloatArray, est: FloatArray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, eq. 1)."""
    r = ref.astype(np.float64)
    e = est.astype(np.float64)
    target = (np.dot(e, r) / np.dot(r, r)) * r
    return float(10.0 * np.log10(np.sum(target**2) / max(np.sum((e - target) ** 2), 1e-20)))


def scores(ref: FloatArray, est: FloatArray) -> tuple[float, float, float]:
    from pesq import pesq
    from pystoi import stoi

    return (
        float(pesq(corpus.SR, ref, est, "wb")),
        float(stoi(ref, est, corpus.SR, extended=False)),
        si_sdr(ref, est),
    )


@dataclass(frozen=True)
class Case:
    utterance: int
    kind: str  # noise kind, or "clean"
    snr_db: float


def _evaluate(args: tuple[Case, list[str], dict[str, float]]) -> dict[str, tuple[float, ...]]:
    case, methods, tuning = args
    u = corpus.utterances()[case.utterance]
    clip: FloatArray | None = None
    if case.kind == "clean":
        x = u.speech
    else:
        seed = 100 * case.utterance + corpus.NOISES.index(case.kind)
        n = corpus.noise(case.kind, u.speech.shape[0], seed)
        x = corpus.mix(u, n, case.snr_db)
        scale = (x - u.speech).std() / n.std()
        clip = corpus.noise(case.kind, 2 * corpus.SR, seed + 7919) * np.float32(scale)
    return {m: scores(u.speech, run_method(m, x, clip, tuning)) for m in methods}


def _mean(rows: Iterable[tuple[float, ...]], i: int) -> float:
    return float(np.mean([r[i] for r in rows]))


def print_tables(
    results: dict[Case, dict[str, tuple[float, ...]]], methods: list[str], kinds: list[str]
) -> None:
    head = (
        f"| {'method':<13}| PESQ 0 dB | PESQ 5 dB | PESQ 10 dB "
        "| PESQ mean | STOI mean | SI-SDR mean |"
    )
    rule = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    for kind in [*kinds, "all noises"]:
        cases = [c for c in results if c.kind != "clean" and kind in (c.kind, "all noises")]
        print(f"\n**{kind}**\n\n{head}\n{rule}")
        for m in methods:
            by_snr = [
                _mean((results[c][m] for c in cases if c.snr_db == s), 0) for s in corpus.SNRS_DB
            ]
            rows = [results[c][m] for c in cases]
            print(
                f"| {m:<13}| {by_snr[0]:9.2f} | {by_snr[1]:9.2f} | {by_snr[2]:10.2f} "
                f"| {_mean(rows, 0):9.2f} | {_mean(rows, 1):9.3f} | {_mean(rows, 2):8.1f} dB |"
            )
    clean = [c for c in results if c.kind == "clean"]
    if clean:
        print("\n**clean speech in (do no harm)**\n")
        print("| method       | PESQ-WB | STOI  | SI-SDR vs clean |\n|---|---|---|---|")
        for m in methods:
            rows = [results[c][m] for c in clean]
            print(
                f"| {m:<13}| {_mean(rows, 0):7.2f} | {_mean(rows, 1):.3f} "
                f"| {_mean(rows, 2):6.1f} dB |"
            )


def speed_line(minutes: float = 10.0, sr: int = 48000) -> str:
    """Time and peak memory of ``denoise`` on ``minutes`` of ``sr`` Hz speech in noise."""
    speech = np.concatenate([u.speech for u in corpus.utterances()])
    speech = scipy.signal.resample_poly(speech, sr // corpus.SR, 1).astype(np.float32)
    n = int(minutes * 60 * sr)
    x = np.tile(speech, n // speech.shape[0] + 1)[:n]
    x += np.float32(0.02) * np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    denoise(x[: sr * 2], sr)  # warm caches (bias calibration, tables)
    best = min(_timed(lambda: denoise(x, sr)) for _ in range(3))
    tracemalloc.start()
    y = denoise(x, sr)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (
        f"denoise, {minutes:g} min of {sr // 1000} kHz mono float32 on one core: "
        f"{best:.2f} s (best of 3), peak memory {peak / 1e6:.0f} MB "
        f"({y.nbytes / 1e6:.0f} MB of it the output; input {x.nbytes / 1e6:.0f} MB not counted)"
    )


def _timed(f: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--noises", default=",".join(corpus.NOISES))
    ap.add_argument("--utterances", type=int, default=len(corpus.TEST_SENTENCES))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-clean", action="store_true")
    ap.add_argument("--tune", action="append", default=[], help="name=value for denoise")
    ap.add_argument("--quick", action="store_true", help="only ours, noisy cases, no speed")
    a = ap.parse_args(argv)
    if a.quick:
        a.methods, a.no_clean, a.no_speed = "ours", True, True
    methods = a.methods.split(",")
    kinds = a.noises.split(",")
    tuning = {k: float(v) for k, v in (t.split("=", 1) for t in a.tune)}
    cases = [Case(i, k, s) for i in range(a.utterances) for k in kinds for s in corpus.SNRS_DB]
    if not a.no_clean:
        cases += [Case(i, "clean", 0) for i in range(a.utterances)]
    corpus.utterances()  # synthesise once before forking
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.jobs) as pool:
        outs = list(pool.map(_evaluate, [(c, methods, tuning) for c in cases]))
    results = dict(zip(cases, outs, strict=True))
    print(
        f"{a.utterances} utterances x {len(kinds)} noises x SNR {corpus.SNRS_DB} dB, 16 kHz; "
        f"PESQ-WB (ITU-T P.862.2), STOI, SI-SDR vs the clean utterance "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    print_tables(results, methods, kinds)
    if not a.no_speed:
        print("\n" + speed_line())


if __name__ == "__main__":
    main()
