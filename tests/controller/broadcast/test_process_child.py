"""An upload's audio chain runs in a child process: its answer, its errors and its failures
come back to the controller as they would from the chain itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio.config import PipelineConfig
from audio.encode import write_audio
from audio.errors import TooLongAudioError, UnsupportedFormatError
from controller.broadcast.process_child import ProcessingFailedError, process_in_child

SR = 16000


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    t = np.arange(2 * SR, dtype=np.float32) / SR
    path = tmp_path_factory.mktemp("child") / "tone.wav"
    write_audio(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR)
    return path


def test_the_child_writes_the_file_and_answers_with_its_report(tone, tmp_path):
    dst = tmp_path / "out.ogg"
    report = process_in_child(tone, dst, PipelineConfig(denoise=False))
    assert dst.stat().st_size > 0
    assert report.output.duration_s == pytest.approx(2.0, abs=0.3)
    assert list(tmp_path.iterdir()) == [dst]  # its answer file is gone


def test_an_unusable_recording_raises_the_chains_own_error(tone, tmp_path):
    junk = tmp_path / "ghi-am.ogg"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(UnsupportedFormatError):
        process_in_child(junk, tmp_path / "a.ogg", PipelineConfig())
    with pytest.raises(TooLongAudioError, match="the limit"):
        process_in_child(tone, tmp_path / "b.ogg", PipelineConfig(max_seconds=1.0))


def test_a_child_that_dies_is_a_clear_failure_not_a_bad_recording(tone, tmp_path):
    # nowhere to write: the child fails with no AudioError and no answer
    with pytest.raises(ProcessingFailedError, match=r"audio processing stopped \(exit 1\)"):
        process_in_child(tone, tmp_path / "gone" / "c.ogg", PipelineConfig(denoise=False))
