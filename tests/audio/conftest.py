"""Fixtures for the audio tests: generated speech files in a temporary directory."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.audio.speech import bulletin, have_espeak, write_wav

needs_espeak = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


@pytest.fixture(scope="session")
def speech16() -> np.ndarray:
    """About 12 s of Vietnamese speech at 16 kHz, three voices, natural level."""
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    return bulletin(12.0, 16000)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of speech as a 48 kHz 16-bit WAV file."""
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("speech") / "speech48.wav"
    write_wav(str(path), bulletin(12.0, 48000, seed=1), 48000)
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)
