"""The public renditions are made while the same bulletin goes out to every point, so making them
must not hold the bulletin decoded whole (at 1,000 points that was 50 MB of the controller's
peak for three minutes of audio; BENCHMARKS.md, "Scale"). Streamed, they are still the very
files the whole-signal encode made."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from audio.decode import decode_file
from audio.encode import write_audio
from bench.node_memory import make_bulletin
from controller.config import ControllerConfig
from controller.public import renditions

SECONDS = 60  # decoded whole at 48 kHz float32: 11.5 MB, and 5.3 MB more at 22.05 kHz


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bulletin(tmp_path_factory.mktemp("audio") / "stored.ogg", SECONDS)


def config_for(stored: Path, tmp_path: Path) -> ControllerConfig:
    config = ControllerConfig(data_dir=tmp_path)
    config.audio_dir.mkdir()
    (config.audio_dir / "abc.ogg").write_bytes(stored.read_bytes())
    return config


@pytest.mark.parametrize("kind", ["opus", "mp3"])
def test_a_rendition_is_made_without_holding_the_decoded_bulletin(
    stored: Path, tmp_path: Path, kind: renditions.Kind
) -> None:
    config = config_for(stored, tmp_path)
    tracemalloc.start()
    try:
        made = renditions.rendition(config, "abc", kind)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert made.exists()
    # the 48 kHz signal alone is 11.5 MB: a few blocks of it may be held, not all of it
    assert peak < 2e6, f"{peak / 1e6:.1f} MB to render {SECONDS} s"


@pytest.mark.parametrize("kind", ["opus", "mp3"])
def test_a_streamed_rendition_is_the_file_the_whole_signal_gave(
    stored: Path, tmp_path: Path, kind: renditions.Kind
) -> None:
    config = config_for(stored, tmp_path)
    fmt = renditions.FORMATS[kind]
    decoded = decode_file(stored, target_sr=renditions.MP3_RATE if kind == "mp3" else None)
    whole = tmp_path / f"whole{fmt.suffix}"
    write_audio(whole, decoded.samples, decoded.sample_rate, bitrate=fmt.bitrate)

    made = renditions.rendition(config, "abc", kind)
    assert made.read_bytes() == whole.read_bytes()
