"""gTTS's success path without the internet: a local server answers in Google's format."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from audio.decode import decode_file
from audio.encode import write_audio
from controller.tts import EspeakEngine, GttsEngine, TtsSettings, synthesize


@pytest.fixture(scope="module")
def fake_google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serves an MP3 (espeak-ng speech) the way translate.google.com's batchexecute does."""
    work = tmp_path_factory.mktemp("google")
    wav = EspeakEngine().synthesize("Xin chào bà con.", "vi", work / "speech", 30)
    decoded = decode_file(wav)
    mp3 = work / "speech.mp3"
    write_audio(mp3, decoded.samples, decoded.sample_rate)
    payload = base64.b64encode(mp3.read_bytes()).decode("ascii")
    body = f')]}}\'\n\n[["wrb.fr","jQ1olc","[\\"{payload}\\"]",null,null,null,"generic"]]\n'
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(0.15)  # a distant Google: each piece takes a while
            requests.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            data = body.encode("ascii")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    assert requests
    assert all(p.endswith("/batchexecute") for p in requests)


def test_gtts_engine_writes_mp3(tmp_path: Path, fake_google: str) -> None:
    out = GttsEngine(base_url=fake_google).synthesize("Xin chào.", "vi", tmp_path / "raw", 3)
    assert out.suffix == ".mp3"
    assert decode_file(out).duration_s > 0.5


def test_gtts_first_when_reachable(tmp_path: Path, fake_google: str) -> None:
    settings = TtsSettings(cache_dir=tmp_path / "cache", gtts_base_url=fake_google)
    result = synthesize("UBND xã thông báo.", settings=settings)
    assert result.engine == "gtts"
    assert [a.engine for a in result.attempts] == ["gtts"]
    assert decode_file(result.path).codec == "opus"
    # Cached separately from espeak-ng's reading of the same text.
    offline = synthesize("UBND xã thông báo.", settings=settings, emergency=True)
    assert offline.engine == "espeak"
    assert offline.path != result.path


def test_long_text_is_not_cut_off_by_the_timeout(tmp_path: Path, fake_google: str) -> None:
    # gTTS sends ~100 characters per request; 8 slow pieces take longer than the timeout in
    # total, but each one arrives in time, so Google is not dropped.
    text = " ".join(["Ủy ban nhân dân xã thông báo lịch tiêm phòng cho trẻ em dưới năm tuổi."] * 8)
    started = time.monotonic()
    out = GttsEngine(base_url=fake_google).synthesize(text, "vi", tmp_path / "raw", 0.5)
    assert time.monotonic() - started > 0.5
    assert decode_file(out).duration_s > 0.5
