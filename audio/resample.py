"""Sample-rate conversion by polyphase filtering with a Kaiser-windowed sinc: the numbers of
``scipy.signal.resample_poly`` with its default filter, computed by :mod:`audio.fir` (numpy
only, so neither the controller nor a node's player needs ``scipy.signal`` for it).

Mono ``(n,)`` float32 in and out. Long signals are converted in chunks with enough overlap
that the result equals one ``resample_poly`` call, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from math import gcd

import numpy as np

from audio.fir import kaiser_lowpass, resample_poly
from audio.samples import as_mono, check_rate

_CHUNK = 1 << 20


@lru_cache(maxsize=16)
def _filter(up: int, down: int) -> np.ndarray:
    """``resample_poly``'s own default filter (Kaiser, beta 5, 10 zero crossings per side), in
    float32: the polyphase filtering then runs in float32 (10-15 % faster), the same to
    float32 precision, and the taps are designed once per rate pair instead of per call."""
    most = max(up, down)
    h = kaiser_lowpass(2 * 10 * most + 1, 1.0 / most, 5.0)
    out = np.asarray(h, dtype=np.float32)
    out.setflags(write=False)
    return out


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample mono ``x`` from ``sr_in`` to ``sr_out`` Hz; output length ``ceil(n·out/in)``."""
    sr_in, sr_out = check_rate(sr_in), check_rate(sr_out)
    y = as_mono(x)
    if sr_in == sr_out or y.size == 0:
        return y
    g = gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    n_out = -(-y.size * up // down)
    if y.size <= 2 * _CHUNK:
        whole = resample_poly(y, up, down, _filter(up, down))
        return np.asarray(whole[:n_out], dtype=np.float32)
    # chunk boundaries on multiples of `down` input samples map to whole output samples
    half = 10 * max(up, down) // up + 2  # filter half-length in input samples (+ margin)
    pad = -(-half // down) * down
    step = (_CHUNK // down) * down
    out = np.empty(n_out, dtype=np.float32)
    for lo in range(0, y.size, step):
        hi = min(lo + step, y.size)
        a, b = max(0, lo - pad), min(y.size, hi + pad)
        seg = resample_poly(y[a:b], up, down, _filter(up, down))
        o0 = (lo - a) * up // down
        o_lo = lo * up // down
        o_hi = min(n_out, -(-hi * up // down)) if hi == y.size else hi * up // down
        out[o_lo:o_hi] = seg[o0 : o0 + (o_hi - o_lo)]
    return out


def resample_stream(
    blocks: Iterable[np.ndarray],
    sr_in: int,
    sr_out: int,
    *,
    step_s: float = 0.5,
    clip: bool = True,
) -> Iterator[np.ndarray]:
    """:func:`resample` of the concatenation of ``blocks`` (mono float32, any sizes), delivered
    in pieces of about ``step_s`` as the input comes, clipped to [-1, 1] unless ``clip`` is
    False: what a sound card gets from a file decoded as it plays, or the chain's working
    signal from a decoder (:mod:`audio.decode_working`), holding about one piece of input.

    Each piece is resampled with enough neighbouring input on both sides to cover the filter
    (``10 * max(up, down)`` taps either side in the upsampled domain; zeros before the start and
    after the end, as ``resample_poly`` pads), and pieces start on multiples of ``down`` input
    samples so every output sample keeps its exact position: the result equals one call on the
    whole signal to float32 precision.
    """
    sr_in, sr_out = check_rate(sr_in), check_rate(sr_out)
    g = gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    ctx = -(-(-(-10 * max(up, down) // up) + 1) // down) * down
    step = max(down, int(sr_in * step_s) // down * down)
    first = ctx * up // down
    held = np.zeros(ctx, dtype=np.float32)  # input from `a - ctx` on
    parts: list[np.ndarray] = []  # blocks after `held`, joined once a piece's worth is there
    size = held.size
    a = 0  # the next piece starts at input sample `a`
    for block in blocks:
        parts.append(as_mono(block))
        size += parts[-1].size
        if size < step + 2 * ctx:
            continue
        held = np.concatenate([held, *parts])
        parts = []
        while held.size >= step + 2 * ctx:
            y = resample(held[: step + 2 * ctx], sr_in, sr_out)[first : first + step * up // down]
            yield np.clip(y, -1.0, 1.0) if clip else y
            held = held[step:]
            a += step
        held = held.copy()  # let go of the joined input before it
        size = held.size
    held = np.concatenate([held, *parts])
    n = a + held.size - ctx
    if n > a:
        y = resample(np.concatenate([held, np.zeros(ctx, np.float32)]), sr_in, sr_out)
        y = y[first : first + -(-n * up // down) - a * up // down]
        yield np.clip(y, -1.0, 1.0) if clip else y
