"""Noise-reduction quality benchmark: PESQ-WB, STOI and SI-SDR on the wider generated corpus.

Run: ``.venv/bin/python -m bench.denoise_quality`` (every method, both splits, every noise and
SNR; with ``--utterances 2`` it took 16 minutes on the shared 2-core machine, the full run has
2.5 times the cases; the corpus is cached under ``var/bench-corpus/`` after the first run).
``--quick`` scores ``noisy`` and ``ours`` on two utterances per split (a few minutes), for
tuning with ``--tune name=value`` (``--gain-table``: a learned gain of :mod:`bench.train_gain`).
``--original`` restricts to the five noises and three SNRs of the earlier rounds (tune split
only).

Every method sees the same 16 kHz mixtures (:mod:`bench.corpus_wide`: 13 noises x 0/5/10/20 dB
SNR, room and phone variants, a tune split and a held-out split) and the clean utterances
alone (do no harm). Methods are one registry, :data:`METHODS` (name -> function of the
mixture); add one there and name it in ``--methods``:

* ``noisy``        the input itself;
* ``ours``         :func:`audio.denoise.denoise`, blind (no noise clip);
* ``nr-stat``      noisereduce, stationary, no noise clip (estimates from the mixture);
* ``nr-stat+clip`` noisereduce, stationary, given 2 s of the same noise alone;
* ``nr-nonstat``   noisereduce, non-stationary;
* ``dfn3``, ``dfn3+ours``, ``dfn3-floor``, ``dfn3-noharm``, ``dfn3-pick``, ``dfn3-blend``,
  ``dfn3-mixleave``, ``ours-full``, ``neural``:
  DeepFilterNet3 and its combinations with ours (:mod:`bench.neural_methods`); ``neural`` is
  the controller's option (mode ``"mix"`` of :mod:`audio.neural_choice`);
* ``oracle``       not blind: the ideal ratio mask from the true speech and noise (32 ms STFT),
  the ceiling of any single-channel mask.

The clean section adds, whatever ``--methods`` says, ``chain``: the whole chain as a bulletin is
aired (``loa process`` with the default settings to Ogg/Opus, decoded again;
:mod:`bench.chain_quality`) and ``chain-wav``: the same to WAV (the codec left out).

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
from pathlib import Path

import numpy as np
import scipy.signal

from audio.denoise import denoise
from audio.gain_table import GainTable
from audio.samples import FloatArray
from bench import chain_quality, corpus, corpus_noises, corpus_wide, neural_methods
from bench.corpus_wide import Case, Mixture

Method = Callable[[Mixture, dict[str, object]], FloatArray]
Scores = tuple[float, float, float]


def _nr(x: FloatArray, clip: FloatArray | None, *, stationary: bool) -> FloatArray:
    import noisereduce

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = noisereduce.reduce_noise(y=x, sr=corpus.SR, stationary=stationary, y_noise=clip)
    return np.asarray(y, dtype=np.float32)[: x.shape[0]]


def _oracle(m: Mixture, _: dict[str, object]) -> FloatArray:
    """Ideal ratio mask ``|S|^2 / (|S|^2 + |N|^2)`` applied to the mixture."""
    kw = {"fs": corpus.SR, "nperseg": 512, "noverlap": 256}
    _, _, s = scipy.signal.stft(m.reference, **kw)
    _, _, n = scipy.signal.stft(m.noise, **kw)
    _, _, x = scipy.signal.stft(m.noisy, **kw)
    ps, pn = np.abs(s) ** 2, np.abs(n) ** 2
    _, y = scipy.signal.istft(x * ps / np.maximum(ps + pn, 1e-20), **kw)
    return np.asarray(y[: m.noisy.shape[0]], dtype=np.float32)


METHODS: dict[str, Method] = {
    "noisy": lambda m, _: m.noisy,
    "ours": lambda m, tuning: denoise(m.noisy, corpus.SR, **tuning),
    "nr-stat": lambda m, _: _nr(m.noisy, None, stationary=True),
    "nr-stat+clip": lambda m, _: _nr(m.noisy, m.noise_clip, stationary=True),
    "nr-nonstat": lambda m, _: _nr(m.noisy, None, stationary=False),
    "oracle": _oracle,
    # DeepFilterNet3 and its combinations (bench.neural_methods); "neural" is the controller's
    "dfn3": lambda m, _: neural_methods.dfn3(m),
    "dfn3+ours": lambda m, _: neural_methods.dfn3_ours(m),
    "dfn3-floor": lambda m, _: neural_methods.dfn3_floor(m),
    "dfn3-noharm": lambda m, _: neural_methods.dfn3_no_harm(m),
    "dfn3-pick": lambda m, _: neural_methods.dfn3_pick(m),
    "dfn3-blend": lambda m, _: neural_methods.dfn3_blend(m),
    "dfn3-mixleave": lambda m, _: neural_methods.dfn3_mix_leave(m),
    "ours-full": lambda m, _: neural_methods.ours_full(m),
    "neural": lambda m, _: neural_methods.neural(m),
}


# Clean speech only, whatever ``--methods`` says: the whole chain as a bulletin is aired
# (``loa process`` to Ogg/Opus) and the same chain written to WAV (what the codec costs).
CHAIN_METHODS: dict[str, Method] = {
    "chain": lambda m, _: chain_quality.whole_chain(m.noisy, corpus.SR),
    "chain-wav": lambda m, _: chain_quality.whole_chain(m.noisy, corpus.SR, container="wav"),
}


def si_sdr(ref: FloatArray, est: FloatArray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, eq. 1)."""
    r = ref.astype(np.float64)
    e = est.astype(np.float64)
    target = (np.dot(e, r) / np.dot(r, r)) * r
    return float(10.0 * np.log10(np.sum(target**2) / max(np.sum((e - target) ** 2), 1e-20)))


def scores(ref: FloatArray, est: FloatArray) -> Scores:
    from pesq import pesq
    from pystoi import stoi

    return (
        float(pesq(corpus.SR, ref, est, "wb")),
        float(stoi(ref, est, corpus.SR, extended=False)),
        si_sdr(ref, est),
    )


def _evaluate(args: tuple[Case, list[str], dict[str, object]]) -> dict[str, Scores]:
    case, methods, tuning = args
    m = corpus_wide.mixture(case)
    out = {name: scores(m.reference, METHODS[name](m, tuning)) for name in methods}
    if case.kind == "clean":
        out |= {name: scores(m.reference, f(m, tuning)) for name, f in CHAIN_METHODS.items()}
    return out


Results = dict[Case, dict[str, Scores]]


def _mean(rows: Iterable[Scores], i: int) -> float:
    values = [r[i] for r in rows]
    return float(np.mean(values)) if values else float("nan")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def split_table(results: Results, methods: list[str], split: str, kinds: list[str]) -> str:
    """Per noise: mean PESQ-WB and STOI of each method over utterances and SNRs."""
    rows = []
    for kind in [*kinds, "all"]:
        cases = [c for c in results if c.split == split and c.kind != "clean"]
        cases = [c for c in cases if kind in (c.kind, "all")]
        if not cases:
            continue
        pesq = [f"{_mean((results[c][m] for c in cases), 0):.2f}" for m in methods]
        stoi = [f"{_mean((results[c][m] for c in cases), 1):.3f}" for m in methods]
        rows.append([kind, *pesq, *stoi])
    head = ["noise", *(f"PESQ {m}" for m in methods), *(f"STOI {m}" for m in methods)]
    return _table(head, rows)


def harm_table(results: Results, split: str, kinds: list[str], snrs: list[float]) -> str:
    """``ours`` minus ``noisy`` per noise and SNR (mean over utterances): never below zero is
    the target; a failing cell is marked."""
    rows = []
    misses = 0
    for kind in kinds:
        cells: list[str] = []
        for i in (0, 1):
            for snr in snrs:
                cases = [
                    c for c in results if c.split == split and c.kind == kind and c.snr_db == snr
                ]
                d = _mean((results[c]["ours"] for c in cases), i) - _mean(
                    (results[c]["noisy"] for c in cases), i
                )
                miss = d < -0.005 if i == 0 else d < -0.0005
                misses += miss
                cells.append(
                    ("**" if miss else "") + f"{d:+.{2 if i == 0 else 3}f}" + ("**" if miss else "")
                )
        rows.append([kind, *cells])
    head = ["noise", *(f"ΔPESQ {s:g} dB" for s in snrs), *(f"ΔSTOI {s:g} dB" for s in snrs)]
    return _table(head, rows) + f"\n\ncells below the noisy input (bold): {misses}"


def clean_table(results: Results, methods: list[str]) -> str:
    rows = []
    for split in corpus_wide.SPLITS:
        cases = [c for c in results if c.split == split and c.kind == "clean"]
        for m in methods:
            if cases:
                rs = [results[c][m] for c in cases]
                rows.append([split, m, f"{_mean(rs, 0):.2f}", f"{_mean(rs, 1):.3f}"])
    return _table(["split", "method", "PESQ-WB", "STOI"], rows)


def variant_table(results: Results, methods: list[str]) -> str:
    rows = []
    for v in corpus_wide.VARIANTS:
        cases = [c for c in results if c.kind != "clean" and c.variant == v]
        if cases:
            rows.append(
                [
                    v,
                    str(len(cases)),
                    *(f"{_mean((results[c][m] for c in cases), 0):.2f}" for m in methods),
                ]
            )
    return _table(["variant", "cases", *(f"PESQ {m}" for m in methods)], rows)


def original_line(results: Results, methods: list[str]) -> str:
    cases = [
        c
        for c in results
        if c.split == "tune" and c.kind in corpus.NOISES and c.snr_db in corpus.SNRS_DB
    ]
    if not cases:
        return ""
    means = ", ".join(f"{m} {_mean((results[c][m] for c in cases), 0):.3f}" for m in methods)
    return f"Original five noises, tune split, 0/5/10 dB, mean PESQ-WB: {means}"


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


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--noises", default=",".join(corpus_wide.NOISES))
    ap.add_argument("--snrs", default=",".join(str(s) for s in corpus_wide.SNRS_DB))
    ap.add_argument("--splits", default=",".join(corpus_wide.SPLITS))
    ap.add_argument("--utterances", type=int, default=0, help="first N per split (0: all)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-clean", action="store_true")
    ap.add_argument("--tune", action="append", default=[], help="name=value for denoise")
    ap.add_argument(
        "--gain-table", type=Path, help="a learned gain for ours (.npz, bench.train_gain)"
    )
    ap.add_argument("--quick", action="store_true", help="noisy and ours, 2 utterances a split")
    ap.add_argument("--original", action="store_true", help="the earlier rounds' corpus only")
    a = ap.parse_args(argv)
    if a.quick:
        a.methods, a.utterances, a.no_speed = "noisy,ours", 2, True
    if a.original:
        a.noises, a.snrs, a.splits = ",".join(corpus.NOISES), "0,5,10", "tune"
    return a


def main(argv: list[str] | None = None) -> None:
    a = _args(argv)
    methods = a.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; known: {sorted(METHODS)}")
    kinds, splits = a.noises.split(","), a.splits.split(",")
    snrs = [float(s) for s in a.snrs.split(",")]
    tuning: dict[str, object] = {k: float(v) for k, v in (t.split("=", 1) for t in a.tune)}
    if a.gain_table:
        tuning["gain_table"] = GainTable.load(a.gain_table)
    cases = corpus_wide.cases(splits, kinds, snrs, clean=not a.no_clean)
    if a.utterances:
        cases = [c for c in cases if c.utterance < a.utterances]
    corpus.utterances()  # synthesise once before forking
    corpus_wide.held_out()
    corpus_noises.warm()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.jobs) as pool:
        outs = list(pool.map(_evaluate, [(c, methods, tuning) for c in cases], chunksize=4))
    results: Results = dict(zip(cases, outs, strict=True))
    print(
        f"{len(cases)} cases: splits {splits}, {len(kinds)} noises, SNR {snrs} dB, 16 kHz; "
        f"PESQ-WB (ITU-T P.862.2), STOI, SI-SDR vs the reference ({time.perf_counter() - t0:.0f} s)"
    )
    for split in splits:
        print(f"\n**{split} split: mean over utterances and SNRs**\n")
        print(split_table(results, methods, split, kinds))
        if {"ours", "noisy"} <= set(methods):
            print(f"\n**{split} split: ours minus noisy (do no harm)**\n")
            print(harm_table(results, split, kinds, snrs))
    if not a.no_clean:
        print("\n**clean speech in (do no harm)**\n")
        print(clean_table(results, [*methods, *CHAIN_METHODS]))
    print("\n**by variant (noisy cases, both splits)**\n")
    print(variant_table(results, methods))
    if line := original_line(results, methods):
        print("\n" + line)
    if not a.no_speed:
        print("\n" + speed_line())
        if "neural" in methods:
            print("\n" + neural_methods.speed_line())


if __name__ == "__main__":
    main()
