"""Before/after picture for broadcasters: waveform and spectrogram of input and output.

matplotlib (Agg backend, no display needed) is imported only here, so the chain itself does
not depend on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal as ss

from audio.decode import decode_file
from audio.pipeline import PipelineConfig, Progress, process_file
from audio.report import ProcessingReport


def plot_before_after(
    before: np.ndarray,
    sr_before: int,
    after: np.ndarray,
    sr_after: int,
    *,
    path: Path,
    title: str,
) -> None:
    """Write a PNG with waveform (top) and spectrogram (bottom) of both signals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 6), sharex="col", constrained_layout=True)
    for col, (x, sr, name) in enumerate(
        ((before, sr_before, "before"), (after, sr_after, "after"))
    ):
        step = max(1, x.size // 20000)  # plotting every sample of an hour is pointless
        t = np.arange(0, x.size, step) / sr
        axes[0, col].plot(t, x[::step], linewidth=0.4, color="tab:blue")
        axes[0, col].set_ylim(-1.05, 1.05)
        axes[0, col].set_title(f"{title} — {name}")
        axes[0, col].set_ylabel("amplitude")
        nper = 512 if sr <= 24000 else 1024
        f, tt, s = ss.spectrogram(x, fs=sr, nperseg=nper, noverlap=nper // 2)
        axes[1, col].pcolormesh(
            tt, f / 1000, 10 * np.log10(s + 1e-12), shading="auto", vmin=-120, vmax=-20
        )
        axes[1, col].set_ylabel("kHz")
        axes[1, col].set_xlabel("seconds")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def process_with_plot(
    src: Path,
    dst: Path,
    plot: Path,
    config: PipelineConfig | None = None,
    progress: Progress | None = None,
) -> ProcessingReport:
    """:func:`audio.pipeline.process_file`, then the before/after PNG at ``plot``."""
    report = process_file(src, dst, config, progress)
    cfg = config or PipelineConfig()
    before = decode_file(src, max_seconds=cfg.max_seconds)
    after = decode_file(dst, max_seconds=cfg.max_seconds + 60)
    plot_before_after(
        before.samples,
        before.sample_rate,
        after.samples,
        after.sample_rate,
        path=plot,
        title=src.name,
    )
    return report
