"""Input checks shared by the denoiser and its estimators: float32 mono ``(n,)``, finite."""

from __future__ import annotations

import numpy as np

MIN_SAMPLE_RATE = 4000


def check_mono_float32(x: object, sr: object) -> None:
    """Raise ``ValueError`` unless ``x`` is a non-empty finite float32 ``(n,)`` array.

    ``sr`` must be an integer sample rate of at least 4 kHz. Nothing is modified.
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(f"audio must be a numpy array, got {type(x).__name__}")
    if x.ndim != 1:
        raise ValueError(
            f"audio must be mono with shape (n,), got shape {x.shape}; "
            "mix or pick a channel before denoising"
        )
    if x.dtype != np.float32:
        raise ValueError(f"audio must be float32, got {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError("audio is empty (0 samples)")
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer):
        raise ValueError(f"sample rate must be an integer, got {sr!r}")
    if sr < MIN_SAMPLE_RATE:
        raise ValueError(f"sample rate must be at least {MIN_SAMPLE_RATE} Hz, got {sr}")
    if not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ValueError(f"audio contains {bad} non-finite samples (NaN or inf)")
