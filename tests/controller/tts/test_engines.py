"""Each engine on its own: real espeak-ng, gTTS against a local socket, Piper unconfigured."""

from __future__ import annotations

import socket
import wave
from pathlib import Path

import pytest

from controller.tts.engines import (
    VOICES,
    EspeakEngine,
    GttsEngine,
    PiperEngine,
    TtsEngine,
    TtsError,
)


def test_all_engines_fit_the_protocol(tmp_path: Path) -> None:
    for engine in (GttsEngine(), EspeakEngine(), PiperEngine(model=None)):
        assert isinstance(engine, TtsEngine)
    assert GttsEngine.online
    assert not EspeakEngine.online
    assert not PiperEngine.online


@pytest.mark.parametrize("voice", VOICES)
def test_espeak_speaks_every_voice(tmp_path: Path, voice: str) -> None:
    out = EspeakEngine().synthesize("Xin chào bà con.", voice, tmp_path / "raw", 30)
    assert out == tmp_path / "raw.wav"
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() > 0.5


def test_espeak_missing_is_a_clear_error(tmp_path: Path) -> None:
    engine = EspeakEngine(binary="/nonexistent/espeak-ng")
    assert "not installed" in (engine.unavailable() or "")
    with pytest.raises(TtsError, match="apt install espeak-ng"):
        engine.synthesize("Xin chào.", "vi", tmp_path / "raw", 5)


def test_espeak_unknown_voice(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="voice does not exist"):
        EspeakEngine().synthesize("Xin chào.", "zz", tmp_path / "raw", 5)


def test_text_cannot_pass_as_an_option(tmp_path: Path) -> None:
    out = EspeakEngine().synthesize("--help -w /etc/passwd", "vi", tmp_path / "raw", 30)
    assert out.stat().st_size > 44


def test_gtts_refused(tmp_path: Path, closed_port: int) -> None:
    engine = GttsEngine(base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(TtsError, match=r"unreachable \(connection error\): Connection refused"):
        engine.synthesize("Xin chào.", "vi", tmp_path / "raw", 3)
    assert not (tmp_path / "raw.mp3").exists()


def test_gtts_silent_server_times_out(tmp_path: Path, silent_server: socket.socket) -> None:
    port = silent_server.getsockname()[1]
    engine = GttsEngine(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TtsError, match="timed out"):
        engine.synthesize("Xin chào.", "vi", tmp_path / "raw", 0.3)


def test_piper_is_skipped_unless_configured(tmp_path: Path) -> None:
    assert PiperEngine(model=None).unavailable() == "not configured (no voice model set)"
    missing = tmp_path / "vi_VN-vais1000-medium.onnx"
    assert "voice model not found" in (PiperEngine(model=missing).unavailable() or "")
    missing.write_bytes(b"not really a model")
    no_binary = PiperEngine(model=missing, binary="/nonexistent/piper")
    assert "not installed" in (no_binary.unavailable() or "")
    with pytest.raises(TtsError, match="not installed"):
        no_binary.synthesize("Xin chào.", "vi", tmp_path / "raw", 5)
