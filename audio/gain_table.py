"""A gain learned from data: a table ``G(xi, gamma)`` looked up instead of the Wiener rule.

Fingscheidt & Suhadi (2008, "Environment-optimized speech enhancement"; Fingscheidt, Suhadi &
Stan 2008, IEEE TASLP 16(4)) replace the analytic gain of a statistical estimator by a table
indexed by the decision-directed a priori SNR ``xi`` and the a posteriori SNR ``gamma``, both
quantised in dB, each cell holding the gain that minimises an error to the clean speech over
training data. Both indices are ratios to the noise estimate, so the table does not depend on
the recording's level or on a talker's voice.

The denoiser (:mod:`audio.denoise`, ``DenoiseParams.gain_table``) uses it, when one is given,
in place of ``xi / (1 + xi)``; the floor ``G_min`` and the pause decision are unchanged.
``bench.train_gain`` fits one on the benchmark's tune split. Fitted to the true gain, it scored
below the Wiener rule on the benchmark (BENCHMARKS, round six), so the default is no table.

What the denoiser uses by default instead is :func:`correct`: the Wiener gain plus a curve
over ``xi`` (dB at :data:`CORRECTION_KNOTS_DB`) that ``bench.train_gain --pesq`` fitted for
PESQ-WB itself on the tune split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio.samples import FloatArray

# a priori SNR (dB) at which DenoiseParams.gain_correction_db is given (linear in between,
# constant beyond): from the a priori SNR floor to where the Wiener gain is within 0.014 dB of 1
CORRECTION_KNOTS_DB = (-25.0, -15.0, -5.0, 5.0, 15.0, 25.0)


def correct(ln_gain: FloatArray, xi: FloatArray, deltas_db: tuple[float, ...]) -> None:
    """Add ``deltas_db`` (dB at :data:`CORRECTION_KNOTS_DB` of ``xi``) to ``ln_gain`` in place,
    never above unity gain.

    The knots are evenly spaced, so the segment of each ``xi`` is an integer part rather than a
    search (``np.interp`` took 16 ms a chunk of 1024 frames at 48 kHz).
    """
    knots = CORRECTION_KNOTS_DB
    step = (knots[-1] - knots[0]) / (len(knots) - 1)
    # position among the knots: (10 log10(xi) - knots[0]) / step, from ln(xi)
    pos = np.log(xi)
    pos *= np.float32(10.0 / np.log(10.0) / step)
    pos -= np.float32(knots[0] / step)
    np.clip(pos, 0.0, np.float32(len(knots) - 1), out=pos)
    low = np.floor(pos)
    seg = low.astype(np.int32)  # the last knot is a segment of its own, of slope 0
    pos -= low
    ln_d = np.asarray([*deltas_db, deltas_db[-1]], np.float32) * np.float32(np.log(10.0) / 20.0)
    pos *= np.diff(ln_d)[seg]
    pos += ln_d[seg]
    ln_gain += pos
    np.minimum(ln_gain, 0.0, out=ln_gain)


@dataclass(frozen=True, eq=False)
class GainTable:
    """``ln_gain[i, j]``: natural log of the gain for ``xi`` at ``xi_lo_db + i * step_db`` dB and
    ``gamma`` at ``gamma_lo_db + j * step_db`` dB (nearest cell; values outside the table take
    its edge)."""

    ln_gain: FloatArray
    xi_lo_db: float
    gamma_lo_db: float
    step_db: float

    def __post_init__(self) -> None:
        if self.ln_gain.ndim != 2 or min(self.ln_gain.shape) < 2:
            raise ValueError(f"a gain table is 2-D, at least 2 x 2, got {self.ln_gain.shape}")
        if not np.all(np.isfinite(self.ln_gain)) or np.any(self.ln_gain > 0.0):
            raise ValueError("a gain table's log gains must be finite and at most 0 (unity gain)")
        if not self.step_db > 0.0:
            raise ValueError(f"step_db must be positive, got {self.step_db}")

    def log_gain(self, xi: FloatArray, gamma: FloatArray) -> FloatArray:
        """``ln G`` for each element of ``xi`` and ``gamma`` (same shape, positive)."""
        out: FloatArray = self.ln_gain[self.cells(xi, gamma)]
        return out

    def cells(self, xi: FloatArray, gamma: FloatArray) -> tuple[np.ndarray, np.ndarray]:
        """The row and column of the cell each element of ``xi`` and ``gamma`` falls in."""
        nx, ng = self.ln_gain.shape
        return (
            _index(xi, self.xi_lo_db, self.step_db, nx),
            _index(gamma, self.gamma_lo_db, self.step_db, ng),
        )

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            ln_gain=self.ln_gain.astype(np.float32),
            grid=np.array([self.xi_lo_db, self.gamma_lo_db, self.step_db]),
        )

    @classmethod
    def load(cls, path: Path) -> GainTable:
        with np.load(path) as f:
            xi_lo, gamma_lo, step = (float(v) for v in f["grid"])
            return cls(f["ln_gain"].astype(np.float32), xi_lo, gamma_lo, step)


def _index(x: FloatArray, lo_db: float, step_db: float, n: int) -> np.ndarray:
    # 10 log10(x) in steps of step_db from lo_db: ln(x) * (10 / ln 10) / step_db
    scale = np.float32(10.0 / np.log(10.0) / step_db)
    pos = np.log(np.maximum(x, np.float32(1e-30)))
    pos *= scale
    pos -= np.float32(lo_db / step_db)
    np.rint(pos, out=pos)
    np.clip(pos, 0, n - 1, out=pos)
    return pos.astype(np.intp)
