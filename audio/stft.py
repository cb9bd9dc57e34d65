"""Chunked short-time Fourier transform for the denoiser and its noise estimator.

Analysis and synthesis both use a periodic square-root Hann window scaled for an overlap of
``o = n_fft / hop`` frames (weighted overlap-add, WOLA): ``sum_r w[n + r * hop]^2 = 1``, so
analysis followed by synthesis with unit gains reconstructs the input exactly
(Crochiere 1980; Allen & Rabiner 1977).

Frame ``t`` covers the input samples ``[(t - o + 1) * hop, (t - o + 1) * hop + n_fft)``; samples
outside the signal read as zeros. With ``n_frames(n, geom)`` frames every input sample is
covered by exactly ``o`` frames. Long signals are processed a chunk of frames at a time so
memory stays bounded (a few tens of MB) whatever the duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from audio import fft
from audio.samples import ComplexArray, FloatArray


@dataclass(frozen=True)
class StftGeometry:
    """Frame length, hop and window of one STFT."""

    n_fft: int
    hop: int
    window: FloatArray

    @property
    def overlap(self) -> int:
        """Frames covering each sample."""
        return self.n_fft // self.hop

    @property
    def n_bins(self) -> int:
        """Number of non-negative frequency bins of the real FFT."""
        return self.n_fft // 2 + 1


@dataclass(frozen=True)
class Chunk:
    """Frames ``[first, stop)`` to output, analysed together with ``[ctx_first, ctx_stop)``."""

    first: int
    stop: int
    ctx_first: int
    ctx_stop: int


def geometry_for(sr: int, frame_ms: float = 32.0, overlap: int = 2) -> StftGeometry:
    """FFT-friendly frame of about ``frame_ms`` at rate ``sr``, hop of ``1 / overlap`` frame.

    The bin spacing (about 31 Hz for 32 ms) is the same at every sample rate, so the
    tracker's and estimator's time and frequency constants mean the same thing at 16 and 48 kHz.
    """
    n = max(16, round(sr * frame_ms / 1000.0))
    n = fft.next_fast_len(n)
    while n % overlap:
        n = fft.next_fast_len(n + 1)
    return geometry_of(n, overlap)


def geometry_of(n: int, overlap: int) -> StftGeometry:
    """STFT of frame length ``n`` and hop ``n / overlap`` (``n`` a multiple of ``overlap``)."""
    k = np.arange(n, dtype=np.float64)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)  # sums to overlap / 2 at hop n / overlap
    window = np.sqrt(hann * 2.0 / overlap).astype(np.float32)
    return StftGeometry(n_fft=n, hop=n // overlap, window=window)


def n_frames(n_samples: int, geom: StftGeometry) -> int:
    """Frames needed so that every one of ``n_samples`` is covered by ``overlap`` frames."""
    return (n_samples - 1) // geom.hop + geom.overlap


def chunks(total: int, size: int, context: int, align: int = 1) -> Iterator[Chunk]:
    """Split ``total`` frames into chunks of ``size`` with ``context`` extra frames each side.

    Each chunk's context starts on a multiple of ``align`` frames, so block-wise statistics
    computed from the context start line up with those of a single pass over everything.
    """
    for first in range(0, total, size):
        stop = min(first + size, total)
        ctx_first = max(0, first - context) // align * align
        yield Chunk(first, stop, ctx_first, min(total, stop + context))


def analyse(x: FloatArray, geom: StftGeometry, first: int, stop: int) -> ComplexArray:
    """Spectra of frames ``[first, stop)`` of ``x``, shape ``(stop - first, n_bins)``."""
    hop, n_fft = geom.hop, geom.n_fft
    start = (first - geom.overlap + 1) * hop
    end = start + (stop - first - 1) * hop + n_fft
    buf = np.zeros(end - start, dtype=np.float32)
    lo, hi = max(start, 0), min(end, x.shape[0])
    if hi > lo:
        buf[lo - start : hi - start] = x[lo:hi]
    frames = np.lib.stride_tricks.sliding_window_view(buf, n_fft)[::hop]
    spec: ComplexArray = fft.rfft(frames * geom.window, axis=-1)
    return spec


def synthesise_into(y: FloatArray, spec: ComplexArray, geom: StftGeometry, first: int) -> None:
    """Overlap-add the frames ``spec`` (starting at frame ``first``) into ``y`` in place."""
    hop, n_fft, o = geom.hop, geom.n_fft, geom.overlap
    nf = spec.shape[0]
    frames = fft.irfft(spec, n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= geom.window
    parts = frames.reshape(nf, o, hop)
    start = (first - o + 1) * hop
    length = (nf + o - 1) * hop
    if start >= 0 and start + length <= y.shape[0]:
        out = y[start : start + length].reshape(nf + o - 1, hop)  # a view: add in place
        for r in range(o):
            out[r : r + nf] += parts[:, r, :]
        return
    tmp = np.zeros((nf + o - 1, hop), dtype=np.float32)
    for r in range(o):
        tmp[r : r + nf] += parts[:, r, :]
    flat = tmp.reshape(-1)
    lo, hi = max(start, 0), min(start + length, y.shape[0])
    if hi > lo:
        y[lo:hi] += flat[lo - start : hi - start]
