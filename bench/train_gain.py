"""Learn the denoiser's gain from the benchmark's tune split, two ways (BENCHMARKS, round six).

``.venv/bin/python -m bench.train_gain --pesq`` fits the default ``DenoiseParams.
gain_correction_db``: dB added to the Wiener gain at six a priori SNRs, chosen by a coordinate
search for the highest mean PESQ-WB over utterances 2-5 of the tune split (the original five
noises at 0, 5 and 10 dB; utterances 0-1 are the benchmark's "original five noises" line, kept
out). It prints the six values (about 50 evaluations of 60 mixtures: 20 minutes on 2 busy
cores). PESQ is deterministic, so the same command prints the same values.

``--pesq --bands 500,1500,3500`` fits a curve per frequency band on top of that one
(``DenoiseParams.gain_correction_band_db``; ``--gamma`` adds one over the a posteriori SNR), with
the same search holding each noise's STOI and the speech's spectral balance through the gains:
fitted without the balance (``--free-balance``) the curves scored higher by tilting the
speech's spectrum, which PESQ-WB and STOI both forgive (BENCHMARKS, round twelve).

``.venv/bin/python -m bench.train_gain [--out var/learned-gain.npz]`` fits a table ``G(xi,
gamma)`` to the true gain instead (not used by default: it scored lower); score it with
``.venv/bin/python -m bench.denoise_quality --gain-table var/learned-gain.npz ...``.

The recipe of Fingscheidt & Suhadi 2008 (:mod:`audio.gain_table`): run the denoiser on every
tune-split mixture, read the decision-directed a priori SNR ``xi`` and the a posteriori SNR
``gamma`` it computed for each frame and bin, and the true a priori SNR ``|S|^2 / lambda``
(the clean speech's periodogram over the same noise estimate ``lambda``); each cell of the
table holds the mean over its samples of ``ln max(G*, G_fit)``, ``G* = xi* / (1 + xi*)`` the
Wiener gain of the true a priori SNR. Fed that true a priori SNR, the same Wiener rule scores
2.20 PESQ-WB on the original five noises (floor -34 dB) against 1.495 blind. The mean of the
log gain is the least-squares fit in the log domain; ``G_fit`` (-40 dB, below the denoiser's
-34 dB floor) keeps the fit from being spent below the floor, where errors are not heard. A cell
with fewer than ``MIN_COUNT`` samples keeps the Wiener gain of its ``xi``.

Nothing is random: the corpus is seeded (:mod:`bench.corpus_wide`), and the same command
writes the same table. Phone-coded variants are left out of training: the phone's AGC changes
the mixture's level against the reference, so ``|S|^2 / lambda`` would not be the SNR heard.

The features are read by wrapping the denoiser's private ``_gain`` for the duration of the run:
a benchmark recording is one chunk of frames, so the arrays it receives are the recording's
frames (checked), and the production code carries no hook for training.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import audio.denoise as denoise_module
from audio.gain_table import CORRECTION_KNOTS_DB, GainTable
from audio.samples import FloatArray
from audio.stft import analyse, geometry_for, n_frames
from bench import corpus, corpus_wide

XI_LO_DB, XI_HI_DB = -25.0, 40.0  # xi_min (DenoiseParams.xi_min_db) to where G* is 1
GAMMA_LO_DB, GAMMA_HI_DB = -30.0, 40.0
STEP_DB = 1.0
FIT_FLOOR_DB = -40.0
MIN_COUNT = 50
MIN_GAIN = 0.002  # PESQ-WB a move of the search must gain to be kept
STOI_HOLD = 0.001  # how far a noise's mean STOI may fall in the band search


@contextmanager
def _recording() -> Iterator[dict[str, FloatArray]]:
    """While open, the last ``xi`` and ``gamma`` the denoiser's gain rule was given."""
    seen: dict[str, FloatArray] = {}
    # the name audio.denoise calls its gain rule by (imported from audio.denoise_gain)
    original: Callable[..., FloatArray] = getattr(denoise_module, "suppression_gain")  # noqa: B009

    def wrapped(xi: FloatArray, gamma: FloatArray, *args: object, **kw: object) -> FloatArray:
        seen["xi"], seen["gamma"] = xi.copy(), gamma.copy()
        return original(xi, gamma, *args, **kw)

    setattr(denoise_module, "suppression_gain", wrapped)  # noqa: B010
    try:
        yield seen
    finally:
        setattr(denoise_module, "suppression_gain", original)  # noqa: B010


def samples(case: corpus_wide.Case) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """``xi``, ``gamma`` and ``ln max(G*, G_fit)`` of every frame and bin of ``case``; ``None``
    where the denoiser left the recording alone (a speech-like background)."""
    m = corpus_wide.mixture(case)
    with _recording() as seen:
        denoise_module.denoise(m.noisy, corpus.SR)
    if not seen:
        return None
    geom = geometry_for(corpus.SR)
    total = n_frames(m.noisy.shape[0], geom)
    if seen["xi"].shape[0] != total:
        raise RuntimeError(f"{case}: more than one chunk ({seen['xi'].shape[0]} of {total})")
    s2 = np.abs(analyse(m.reference, geom, 0, total)) ** 2
    y2 = np.abs(analyse(m.noisy, geom, 0, total)) ** 2
    lam = y2 / seen["gamma"]  # the denoiser's noise estimate, gamma = |Y|^2 / lambda
    xi_true = s2 / np.maximum(lam, np.float32(1e-20))
    g = np.log(np.maximum(xi_true / (1.0 + xi_true), 10.0 ** (FIT_FLOOR_DB / 20.0)))
    return seen["xi"], seen["gamma"], g.astype(np.float32)


def fit(cases: list[corpus_wide.Case]) -> tuple[GainTable, int]:
    """The table over ``cases``, and how many of them the denoiser did suppress."""
    nx = round((XI_HI_DB - XI_LO_DB) / STEP_DB) + 1
    ng = round((GAMMA_HI_DB - GAMMA_LO_DB) / STEP_DB) + 1
    index = GainTable(np.zeros((nx, ng), np.float32), XI_LO_DB, GAMMA_LO_DB, STEP_DB)
    total = np.zeros(nx * ng)
    count = np.zeros(nx * ng)
    used = 0
    for case in cases:
        got = samples(case)
        if got is None:
            continue
        xi, gamma, g = got
        # The table's own quantisation, so that training and use agree on the cells.
        ix, ig = index.cells(xi, gamma)
        k = (ix * ng + ig).ravel()
        total += np.bincount(k, g.ravel().astype(np.float64), nx * ng)
        count += np.bincount(k, None, nx * ng)
        used += 1
    xi_db = XI_LO_DB + STEP_DB * np.arange(nx)
    xi_lin = 10.0 ** (xi_db / 10.0)
    wiener = np.repeat(np.log(xi_lin / (1.0 + xi_lin))[:, None], ng, axis=1).ravel()
    ln_gain = np.where(count >= MIN_COUNT, total / np.maximum(count, 1.0), wiener)
    table = np.minimum(ln_gain, 0.0).reshape(nx, ng).astype(np.float32)
    return GainTable(table, XI_LO_DB, GAMMA_LO_DB, STEP_DB), used


def _pesq(args: tuple[corpus_wide.Case, tuple[float, ...]]) -> float:
    from bench.denoise_quality import scores

    case, deltas = args
    m = corpus_wide.mixture(case)
    # the correction everywhere, as it was fitted (the fade with the SNR came afterwards)
    y = denoise_module.denoise(
        m.noisy, corpus.SR, gain_correction_db=deltas, gain_correction_snr_db=(100.0, 100.0)
    )
    return scores(m.reference, y)[0]


BALANCE_EDGES_HZ = (500.0, 1500.0, 3500.0)  # bands of the speech's balance (below)
BALANCE_HOLD_DB = 1.0  # how far the band search may tilt the speech's balance


def _scored(
    args: tuple[corpus_wide.Case, dict[str, object]],
) -> tuple[float, float, FloatArray]:
    """PESQ-WB and STOI of ``case`` through the denoiser with ``tuning``, and the level (dB) of
    the clean speech through the gains the denoiser applied, in each band of
    ``BALANCE_EDGES_HZ``: PESQ-WB and STOI both forgive a fixed equaliser on the speech (PESQ
    compensates a linear filter, STOI correlates each band's envelope whatever its level), so
    a correction that tilts the speech's spectrum can score higher without removing more
    noise (BENCHMARKS, round twelve)."""
    from bench.denoise_quality import scores

    case, tuning = args
    m = corpus_wide.mixture(case)
    gains: list[FloatArray] = []
    original: Callable[..., None] = getattr(denoise_module, "apply_gain")  # noqa: B009

    def kept(spec: object, gain: FloatArray, layout: object) -> None:
        gains.append(gain.copy())
        original(spec, gain, layout)

    setattr(denoise_module, "apply_gain", kept)  # noqa: B010
    try:
        y = denoise_module.denoise(m.noisy, corpus.SR, **tuning)
    finally:
        setattr(denoise_module, "apply_gain", original)  # noqa: B010
    got = scores(m.reference, y)
    geom = geometry_for(corpus.SR)
    g2 = np.concatenate(gains) ** 2 if gains else np.ones((1, geom.n_bins), np.float32)
    s2 = np.abs(analyse(m.reference, geom, 0, g2.shape[0])) ** 2
    hz = np.arange(s2.shape[1]) * corpus.SR / geom.n_fft
    edges = (0.0, *BALANCE_EDGES_HZ, np.inf)
    level = [
        10.0 * np.log10(np.sum(g2[:, sel] * s2[:, sel]) / max(np.sum(s2[:, sel]), 1e-20))
        for sel in ((hz >= lo) & (hz < hi) for lo, hi in itertools.pairwise(edges))
    ]
    return got[0], got[1], np.asarray(level)


def search_bands(
    cases: list[corpus_wide.Case],
    edges_hz: tuple[float, ...],
    jobs: int,
    *,
    gamma: bool = False,
    start: list[list[float]] | None = None,
    gamma_only: bool = False,
    knots: tuple[int, ...] | None = None,
    hold_balance: bool = True,
    balance_db: float = BALANCE_HOLD_DB,
) -> tuple[list[list[float]], float]:
    """Coordinate search of ``DenoiseParams.gain_correction_band_db`` (dB per band, on top of
    the default ``gain_correction_db``, bands split at ``edges_hz``; with ``gamma`` a last row,
    ``gain_correction_gamma_db``, dB at the same knots of the a posteriori SNR) for the highest
    mean PESQ-WB over ``cases``, with the correction as the denoiser applies it (fading with the
    segment's SNR, off under babble), from ``start`` (zeros by default; with ``gamma_only``
    the bands are held there and only the gamma row moves; with ``knots`` only those knots of
    each row move). A move is kept if it
    gains more than ``MIN_GAIN``, no noise's mean STOI over ``cases`` falls more than
    ``STOI_HOLD`` below the default's and (``hold_balance``) the speech's mean level through the
    gains moves by no more than ``balance_db`` more in one band than in another (a tilt
    that both measures forgive, :func:`_scored`)."""
    n_rows = len(edges_hz) + 1 + (1 if gamma else 0)
    rows = start or [[0.0] * len(CORRECTION_KNOTS_DB) for _ in range(n_rows)]
    kinds = sorted({c.kind for c in cases})
    with ProcessPoolExecutor(jobs) as pool:

        def tuning(b: list[list[float]]) -> dict[str, object]:
            bands = b[: len(edges_hz) + 1]
            out: dict[str, object] = {
                "gain_correction_band_hz": edges_hz,
                "gain_correction_band_db": tuple(tuple(x) for x in bands),
            }
            if gamma:
                out["gain_correction_gamma_db"] = tuple(b[-1])
            return out

        def evaluate(b: list[list[float]]) -> tuple[float, dict[str, float], FloatArray]:
            got = list(pool.map(_scored, [(c, tuning(b)) for c in cases]))
            stoi = {
                k: float(
                    np.mean([s for c, (_, s, _) in zip(cases, got, strict=True) if c.kind == k])
                )
                for k in kinds
            }
            level = np.mean([v for _, _, v in got], axis=0)
            return float(np.mean([p for p, _, _ in got])), stoi, level

        _, stoi0, level0 = evaluate([[0.0] * len(CORRECTION_KNOTS_DB) for _ in range(n_rows)])
        best, _, _ = evaluate(rows)
        print(f"start: {best:.4f}, default's STOI {stoi0}, speech {level0}", flush=True)
        for step in (3.0, 1.5):
            moved = True
            while moved:
                moved = False
                for row in [len(rows) - 1] if gamma_only else range(len(rows)):
                    for i in range(len(CORRECTION_KNOTS_DB)) if knots is None else knots:
                        for s in (step, -step):
                            trial = [list(b) for b in rows]
                            trial[row][i] += s
                            score, stoi, level = evaluate(trial)
                            tilt = float(np.ptp(level - level0))
                            held = all(stoi[k] >= stoi0[k] - STOI_HOLD for k in kinds)
                            balanced = not hold_balance or tilt <= balance_db
                            note = ("" if held else "STOI ") + ("" if balanced else "TILT ")
                            print(f"{trial} {score:.4f} tilt {tilt:.1f} dB {note}", flush=True)
                            held = held and balanced
                            if held and score > best + MIN_GAIN:
                                rows, best, moved = trial, score, True
                                break  # on to the next knot
    return rows, best


def search(cases: list[corpus_wide.Case], jobs: int) -> tuple[list[float], float]:
    """Coordinate search of ``DenoiseParams.gain_correction_db`` (dB added to the Wiener gain at
    the a priori SNRs of :data:`audio.gain_table.CORRECTION_KNOTS_DB`) for the highest mean
    PESQ-WB over ``cases``: each knot in turn up, else down, by a step, a move kept if it gains
    more than ``MIN_GAIN``; sweeps until one moves nothing, steps of 3 dB, then 1.5 dB."""
    deltas = [0.0] * len(CORRECTION_KNOTS_DB)
    with ProcessPoolExecutor(jobs) as pool:

        def mean_pesq(d: list[float]) -> float:
            return float(np.mean(list(pool.map(_pesq, [(c, tuple(d)) for c in cases]))))

        best = mean_pesq(deltas)
        print(f"Wiener rule: {best:.4f}", flush=True)
        for step in (3.0, 1.5):
            moved = True
            while moved:
                moved = False
                for i in range(len(deltas)):
                    for s in (step, -step):
                        trial = [*deltas[:i], deltas[i] + s, *deltas[i + 1 :]]
                        score = mean_pesq(trial)
                        print(f"{trial} {score:.4f}", flush=True)
                        if score > best + MIN_GAIN:
                            deltas, best, moved = trial, score, True
                            break  # on to the next knot
    return deltas, best


def training_cases(noises: list[str]) -> list[corpus_wide.Case]:
    cases = corpus_wide.cases(
        ["tune"], noises, [float(s) for s in corpus_wide.SNRS_DB], clean=False
    )
    return [c for c in cases if not c.variant.startswith("phone")]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("var/learned-gain.npz"))
    ap.add_argument(
        "--noises",
        default=",".join(corpus.NOISES),
        help="tune-split noises to train on (default the original five: on the target's "
        "cases they scored 1.478 against 1.465 for all thirteen)",
    )
    ap.add_argument(
        "--pesq",
        action="store_true",
        help="fit a correction of the Wiener gain for PESQ-WB instead (utterances 2-5 of the "
        "tune split, the noises above at 0/5/10 dB)",
    )
    ap.add_argument(
        "--bands",
        default="",
        help="with --pesq: band edges in Hz (e.g. 500,1500,3500) to fit a correction per band "
        "on top of the default one, holding STOI (BENCHMARKS, round twelve)",
    )
    ap.add_argument("--gamma", action="store_true", help="with --bands: a gamma axis too")
    ap.add_argument("--gamma-only", action="store_true", help="with --gamma: hold the bands")
    ap.add_argument(
        "--free-balance",
        action="store_true",
        help="with --bands: let the speech's spectral balance tilt (as first fitted)",
    )
    ap.add_argument(
        "--balance-db",
        type=float,
        default=BALANCE_HOLD_DB,
        help="with --bands: the tilt of the speech's balance allowed (dB)",
    )
    ap.add_argument(
        "--knots",
        default="",
        help="with --bands: the knots that may move (indices into CORRECTION_KNOTS_DB, e.g. "
        "0,1,2,3 leaves speech-dominated bins, xi 15 and 25 dB, as the default curve has them)",
    )
    ap.add_argument("--start", default="", help="with --bands: the rows to start from (JSON)")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.pesq:
        cases = corpus_wide.cases(["tune"], a.noises.split(","), [0.0, 5.0, 10.0], clean=False)
        cases = [c for c in cases if c.utterance >= 2]
        if a.bands:
            edges = tuple(float(e) for e in a.bands.split(","))
            start = json.loads(a.start) if a.start else None
            rows, best = search_bands(
                cases,
                edges,
                a.jobs,
                gamma=a.gamma,
                start=start,
                gamma_only=a.gamma_only,
                knots=tuple(int(k) for k in a.knots.split(",")) if a.knots else None,
                hold_balance=not a.free_balance,
                balance_db=a.balance_db,
            )
            print(
                f"gain_correction_band_hz = {edges}, rows (bands, then gamma) = "
                f"{tuple(tuple(b) for b in rows)}: PESQ-WB {best:.4f} over {len(cases)} mixtures"
            )
            return
        deltas, best = search(cases, a.jobs)
        print(
            f"gain_correction_db = {tuple(deltas)} (dB at xi {CORRECTION_KNOTS_DB} dB): "
            f"PESQ-WB {best:.4f} over {len(cases)} mixtures"
        )
        return
    cases = training_cases(a.noises.split(","))
    table, used = fit(cases)
    table.save(a.out)
    print(
        f"{a.out}: {table.ln_gain.shape[0]} x {table.ln_gain.shape[1]} cells from {used} of "
        f"{len(cases)} tune-split mixtures ({a.out.stat().st_size} bytes)"
    )


if __name__ == "__main__":
    main()
