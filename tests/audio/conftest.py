"""Fixtures for the audio tests: generated speech in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import bulletin, have_espeak, write_wav


@pytest.fixture(scope="session")
def speech16() -> np.ndarray:
    """About 12 s of Vietnamese speech at 16 kHz, three voices, natural level."""
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    return bulletin(12.0, 16000)


@pytest.fixture(scope="session")
def bulletin_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of speech (12 s, three voices) as a 48 kHz 16-bit WAV file; longer and more
    varied than the session-wide ``speech_wav``, one voice for about two seconds."""
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("speech") / "speech48.wav"
    write_wav(str(path), bulletin(12.0, 48000, seed=1), 48000)
    return path
