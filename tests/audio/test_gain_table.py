"""The learned gains of the denoiser (audio.gain_table): a table is what is applied, a table of
the Wiener rule gives the rule's output, a bad table is refused, and the default correction of
the Wiener gain is the curve it is given, and a curve per band moves its band alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio.denoise import denoise
from audio.gain_table import GainTable, correct
from bench.corpus_wide import noise
from tests.audio.test_denoise import rms

SR = 16000


def _pink_mix(speech: np.ndarray) -> np.ndarray:
    s = speech.astype(np.float32)
    n = noise("pink", s.shape[0], 3)
    return (s + n * np.float32(rms(s) / rms(n) * 10.0 ** (-5.0 / 20.0))).astype(np.float32)


def _wiener_table(step_db: float) -> GainTable:
    xi_db = np.arange(-25.0, 40.0 + step_db / 2, step_db)
    xi = 10.0 ** (xi_db / 10.0)
    column = np.log(xi / (1.0 + xi)).astype(np.float32)
    return GainTable(np.repeat(column[:, None], 3, axis=1), -25.0, -30.0, step_db)


def test_a_unity_table_passes_the_input_through(speech16: np.ndarray) -> None:
    # Gain 1 everywhere: the floor cannot lower it, so the STFT reconstructs the input; the
    # Wiener rule takes away most of the noise.
    x = _pink_mix(speech16)
    unity = GainTable(np.zeros((4, 4), np.float32), -25.0, -30.0, 20.0)
    np.testing.assert_allclose(denoise(x, SR, gain_table=unity), x, atol=2e-5)
    assert rms(x - denoise(x, SR)) > 0.5 * rms(x - speech16)


def test_a_table_of_the_wiener_rule_gives_the_rules_output(speech16: np.ndarray) -> None:
    # In steps of 0.05 dB the table's gain is within 0.025 dB of the rule's: the outputs agree
    # to far below the residual noise (> 45 dB apart).
    x = _pink_mix(speech16)
    default = denoise(x, SR, gain_correction_db=(0.0,) * 6)
    tabled = denoise(x, SR, gain_table=_wiener_table(0.05))
    assert 20.0 * np.log10(rms(default) / rms(default - tabled)) > 45.0


def test_a_table_survives_saving_and_loading(tmp_path: Path) -> None:
    table = _wiener_table(1.0)
    table.save(tmp_path / "g.npz")
    loaded = GainTable.load(tmp_path / "g.npz")
    np.testing.assert_array_equal(loaded.ln_gain, table.ln_gain)
    assert (loaded.xi_lo_db, loaded.gamma_lo_db, loaded.step_db) == (-25.0, -30.0, 1.0)


@pytest.mark.parametrize(
    ("ln_gain", "step", "why"),
    [
        (np.full((3, 3), 0.1, np.float32), 1.0, "at most 0"),  # above unity gain
        (np.full((3, 3), np.nan, np.float32), 1.0, "finite"),
        (np.zeros(5, np.float32), 1.0, "2-D"),
        (np.zeros((3, 3), np.float32), 0.0, "step_db"),
    ],
)
def test_a_bad_table_is_refused(ln_gain: np.ndarray, step: float, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        GainTable(ln_gain, -25.0, -30.0, step)


def test_the_correction_follows_its_knots() -> None:
    xi_db = np.array([-40.0, -25.0, -20.0, 5.0, 10.0, 25.0, 60.0], np.float32)
    xi = (10.0 ** (xi_db / 10.0)).astype(np.float32)
    ln_gain = np.full(xi.shape, -5.0, np.float32)
    correct(ln_gain, xi, (-1.0, -3.0, 0.0, -6.0, -3.0, 2.0))
    db = ln_gain * 20.0 / np.log(10.0) + 5.0 * 20.0 / np.log(10.0)
    # constant beyond the end knots, linear between them
    np.testing.assert_allclose(db, [-1.0, -1.0, -2.0, -6.0, -4.5, 2.0, 2.0], atol=1e-4)
    full = np.zeros(1, np.float32)
    correct(full, np.array([1e6], np.float32), (0.0, 0.0, 0.0, 0.0, 0.0, 3.0))
    assert full[0] == 0.0  # never above unity gain


def test_a_band_s_curve_moves_that_band_alone(speech16: np.ndarray) -> None:
    # Round twelve's curves per band (off by default): 6 dB more suppression in 1-2 kHz only.
    # The output is lower there, and unchanged (within the STFT's own rounding) below 1 kHz
    # and above 2 kHz.
    x = _pink_mix(speech16)
    bands = {
        "gain_correction_band_hz": (1000.0, 2000.0),
        "gain_correction_band_db": ((0.0,) * 6, (-6.0,) * 6, (0.0,) * 6),
    }
    plain, banded = denoise(x, SR), denoise(x, SR, **bands)

    def level(y: np.ndarray, lo: float, hi: float) -> float:
        spectrum = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
        hz = np.fft.rfftfreq(y.size, 1.0 / SR)
        return float(10.0 * np.log10(np.sum(spectrum[(hz >= lo) & (hz < hi)])))

    assert level(banded, 1100.0, 1900.0) < level(plain, 1100.0, 1900.0) - 3.0
    for lo, hi in ((100.0, 900.0), (2100.0, 7900.0)):
        assert abs(level(banded, lo, hi) - level(plain, lo, hi)) < 0.3


def test_band_curves_must_match_their_bands() -> None:
    with pytest.raises(ValueError, match="one tuple of 6 values per band"):
        denoise(
            np.zeros(SR, np.float32),
            SR,
            gain_correction_band_hz=(1000.0,),
            gain_correction_band_db=((0.0,) * 6,),
        )
