"""Fixtures for TTS tests: an isolated cache and a Google that is deterministically unreachable."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.tts.settings import TtsSettings


@pytest.fixture(autouse=True)
def _no_proxy_no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # gTTS sends through the environment's proxies; a test must reach exactly what it names.
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("LOA_TTS_ENGINES", "LOA_TTS_ABBREVIATIONS", "LOA_TTS_PIPER_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: a connection there is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A local port that accepts connections (kernel backlog) but never answers: a slow Google."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s


@pytest.fixture
def settings(tmp_path: Path, closed_port: int) -> TtsSettings:
    return TtsSettings(
        cache_dir=tmp_path / "cache", gtts_base_url=f"http://127.0.0.1:{closed_port}"
    )
