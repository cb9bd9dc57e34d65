"""Our meter against FFmpeg's ebur128 filter on speech (runs when ffmpeg is installed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from audio.decode import decode_file
from audio.loudness import integrated_loudness, loudness_range
from tests.support.audio import bulletin, needs_ffmpeg, write_wav


def ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (3 decimals, from the filter's metadata) and LRA."""
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostats",
            "-hide_banner",
            "-i",
            str(path),
            "-af",
            "ebur128=metadata=1,ametadata=print:key=lavfi.r128.I:file=-",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    values = re.findall(r"lavfi\.r128\.I=(-?[\d.]+)", proc.stdout)
    lra = re.findall(r"LRA:\s+(-?[\d.]+) LU", proc.stderr)
    return float(values[-1]), float(lra[-1])


@needs_ffmpeg
@pytest.mark.parametrize(("seed", "gain_db"), [(3, 0.0), (4, -12.0), (5, -25.0)])
def test_integrated_loudness_matches_ffmpeg(tmp_path: Path, seed: int, gain_db: float) -> None:
    pytest.importorskip("tests.audio.speech")
    x = bulletin(20.0, 48000, seed=seed, noise_db=-55.0) * 10 ** (gain_db / 20)
    path = tmp_path / "speech.wav"
    write_wav(str(path), x, 48000)
    ours = decode_file(path)
    ref_i, ref_lra = ffmpeg_ebur128(path)
    assert integrated_loudness(ours.samples, 48000) == pytest.approx(ref_i, abs=0.1)
    assert loudness_range(ours.samples, 48000) == pytest.approx(ref_lra, abs=1.0)
