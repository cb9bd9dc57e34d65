"""Speech through the whole chain as a bulletin is aired: ``loa process`` (the controller's
upload path, :func:`audio.pipeline.process_file`) from a 16 kHz WAV to the delivered Ogg/Opus
file, decoded again and lined up with the input for scoring.

The chain trims silent ends and the codec adds a delay, so the output is shifted against the
input; :func:`line_up` finds the shift by cross-correlation (either way) and pads what the trim
cut with silence, which PESQ's own alignment then sees as it would the original pauses.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import scipy.signal

from audio.config import PipelineConfig
from audio.decode import decode_file
from audio.encode import write_audio
from audio.pipeline import process_file
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
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / f"out.{container}"
        write_audio(src, x, sr)
        process_file(src, dst, config)
        dec = decode_file(dst)
    y = resample(dec.samples, dec.sample_rate, sr)
    return line_up(y, x, max_lag=sr)  # the trim cuts at most the silent ends (< 1 s here)
