"""``audio.fft`` and ``audio.lsa.exp1`` give ``scipy.fft``'s and ``scipy.special``'s numbers bit for
bit, so the denoiser's output does not move now that `loa process` imports neither; the
fallback through ``scipy.fft`` gives the same."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import scipy.special

from audio import fft
from audio.lsa import _half_e1_table, exp1

_LENGTHS = (16, 30, 256, 480, 512, 1024, 1536)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.fixture(params=["module", "fallback"])
def via(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":
        monkeypatch.setattr(fft, "_pocketfft", fft._ViaScipyFft())
    else:
        assert not isinstance(fft._pocketfft, fft._ViaScipyFft)  # loaded on its own here
    return str(request.param)


@pytest.mark.parametrize("n", _LENGTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_inverse_transforms_match_scipy(
    via: str, n: int, dtype: type[np.floating]
) -> None:
    rng = np.random.default_rng(n)
    frames: np.ndarray = rng.standard_normal((37, n)).astype(dtype)
    spec = fft.rfft(frames, axis=-1)
    _same(spec, scipy.fft.rfft(frames, axis=-1))
    _same(fft.rfft(frames.T, axis=0), scipy.fft.rfft(frames.T, axis=0))
    _same(fft.irfft(spec, n, axis=-1), scipy.fft.irfft(spec, n=n, axis=-1))


@pytest.mark.parametrize("k", [2, 17, 129, 257, 513])
def test_dct1_in_place_matches_scipy(via: str, k: int) -> None:
    x = np.random.default_rng(k).standard_normal((20, k)).astype(np.float32)
    want = scipy.fft.dct(x.copy(), type=1, axis=1)
    got = fft.dct1_inplace(x, axis=1)
    _same(got, want)
    _same(x, want)  # written in place, as the cepstral smoother expects


def test_fast_lengths_match_scipy(via: str) -> None:
    for n in range(1, 3000):
        assert fft.next_fast_len(n) == scipy.fft.next_fast_len(n, real=True)


def test_bad_input_is_refused() -> None:
    with pytest.raises(TypeError):
        fft.rfft(np.zeros(8, dtype=np.complex64))
    with pytest.raises(ValueError, match="bins"):
        fft.irfft(np.zeros(4, dtype=np.complex64), 16)
    with pytest.raises(TypeError):
        fft.dct1_inplace(np.zeros(8, dtype=np.int32))


def test_exp1_and_the_gain_table_match_scipy() -> None:
    v = np.exp(np.linspace(-16.0, 8.0, 20001))
    ref = scipy.special.exp1(v)
    np.testing.assert_allclose(exp1(v), ref, rtol=4e-15, atol=0)
    lo, scale, table = _half_e1_table()
    ln_v = np.linspace(lo, lo + (table.size - 1) / scale, table.size)
    _same(table, (0.5 * scipy.special.exp1(np.exp(ln_v))).astype(np.float32))


def test_a_private_module_that_answers_otherwise_is_not_used() -> None:
    """A later scipy may change the compiled module's arguments or meaning: the public
    ``scipy.fft`` is then used instead of a wrong transform or an error mid-chain."""
    loaded = fft._load_pocketfft()
    assert loaded is not None
    assert fft._answers_as_expected(loaded)

    class NewSignature:
        def r2c(self, a: np.ndarray, axes: tuple[int], forward: bool) -> np.ndarray:
            return np.asarray(scipy.fft.rfft(a))

    class OtherNorm:
        def __getattr__(self, name: str) -> object:
            real = getattr(loaded, name)
            if name != "c2r":
                return real
            return lambda a, axes, n, fwd, _norm, out, threads: real(a, axes, n, fwd, 0, out, 1)

    assert not fft._answers_as_expected(NewSignature())  # type: ignore[arg-type]
    assert not fft._answers_as_expected(OtherNorm())  # type: ignore[arg-type]
