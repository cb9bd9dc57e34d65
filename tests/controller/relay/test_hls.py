"""HLS: the playlist and each segment go through the same guard as a plain stream."""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from controller.relay.fetch import Limits, SourceError
from controller.relay.source import pull


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Six seconds of a 440 Hz tone as HLS (2 s AAC segments), served on 127.0.0.1, and a
    playlist whose segment lies inside the network."""
    root = tmp_path_factory.mktemp("hls")
    tone = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=440:duration=6"]
    hls_out = ["-c:a", "aac", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0"]
    subprocess.run([*tone, *hls_out, str(root / "tone.m3u8")], check=True)
    inside = (root / "tone.m3u8").read_text().replace("tone0.ts", "http://10.0.0.1/tone0.ts")
    (root / "inside.m3u8").write_text(inside)
    (root / "disguised.txt").write_text((root / "tone.m3u8").read_text())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def limits() -> Limits:
    return Limits(allowed_hosts=["127.0.0.1"], timeout_s=10, max_kbps=512)


def test_an_hls_station_is_pulled_segment_by_segment(hls):
    lim = limits()
    blocks: list[np.ndarray] = []
    with pytest.raises(SourceError) as ended:
        blocks.extend(pull(f"{hls}/tone.m3u8", lim))
    assert ended.value.kind == "ended"
    audio = np.concatenate(blocks)
    assert len(audio) / 48000 == pytest.approx(6, abs=0.2)
    spectrum = np.abs(np.fft.rfft(audio[48000:96000]))
    assert int(np.argmax(spectrum)) == pytest.approx(440, abs=2)  # 1 Hz bins
    assert lim.received > 3 * 10_000  # the segments came through the guard


def test_an_hls_segment_inside_the_network_is_refused(hls):
    with pytest.raises(SourceError) as failed:
        for _ in pull(f"{hls}/inside.m3u8", limits()):
            pass
    assert failed.value.kind == "refused"
    assert "10.0.0.1" in str(failed.value)


def test_a_playlist_in_disguise_is_not_opened_by_ffmpegs_own_demuxer(hls):
    """FFmpeg's HLS demuxer would fetch the segments itself (past the guard, and aborting the
    process on the way): only single-stream demuxers may read what a station sends."""
    with pytest.raises(SourceError) as failed:
        for _ in pull(f"{hls}/disguised.txt", limits()):
            pass
    assert failed.value.kind == "decode"
