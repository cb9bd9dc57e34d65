"""A real Icecast (Debian's icecast2) on a free port with its own config, and an ffmpeg that
feeds it a file in real time, for the relay tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from controller.nodes import broker
from tests.support import wait_for

PASSWORD = "nguon-thu"  # a throwaway source password for a test server

CONFIG = """<icecast>
  <limits><clients>20</clients><sources>4</sources><burst-size>16384</burst-size></limits>
  <authentication>
    <source-password>{password}</source-password>
    <admin-user>admin</admin-user><admin-password>{password}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths>
    <basedir>{root}</basedir><logdir>{root}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>{root}/icecast.pid</pidfile>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel>
  </logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""


@contextmanager
def icecast() -> Iterator[int]:
    """Icecast listening on 127.0.0.1; yields its port."""
    if shutil.which("icecast2") is None:
        raise RuntimeError("icecast2 is missing: `make test` installs it")
    # its own folder straight under /tmp: run as root, icecast drops to nobody, who cannot
    # reach into pytest's private temporary folders
    with tempfile.TemporaryDirectory(prefix="loa-icecast-") as folder:
        yield from _run(Path(folder))


def _run(root: Path) -> Iterator[int]:
    port = broker.free_port()
    owner = ""
    if os.getuid() == 0:  # icecast refuses to run as root; it drops to nobody
        owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
        root.chmod(0o777)
    config = root / "icecast.xml"
    config.write_text(CONFIG.format(password=PASSWORD, port=port, root=root, owner=owner))
    proc = subprocess.Popen(
        ["icecast2", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: _answers(port), 15, "icecast listening")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/status-json.xsl", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def mount_live(port: int, mount: str) -> bool:
    try:
        with httpx.stream("GET", f"http://127.0.0.1:{port}{mount}", timeout=2) as r:
            return r.status_code == 200  # the headers say it; the stream itself never ends
    except httpx.HTTPError:
        return False


def feed(port: int, mount: str, audio: Path) -> subprocess.Popen[bytes]:
    """ffmpeg sending ``audio`` as MP3 to ``mount`` in real time (stop it to drop the source)."""
    url = f"icecast://source:{PASSWORD}@127.0.0.1:{port}{mount}"
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1"]
    command += ["-i", str(audio)]  # over and over, until the test stops it
    command += ["-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg"]
    return subprocess.Popen(
        [*command, "-f", "mp3", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def on_air(port: int, mount: str, audio: Path, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """:func:`feed`, once the station is on the air. An ffmpeg that gave up before the mount
    was up (on a loaded machine, its connection refused while Icecast was still starting) is
    started again."""
    deadline = time.monotonic() + timeout
    source = feed(port, mount, audio)
    while time.monotonic() < deadline:
        if mount_live(port, mount):
            return source
        if source.poll() is not None:
            source = feed(port, mount, audio)
        time.sleep(0.2)
    source.terminate()
    raise AssertionError(f"the station was not on the air {mount} after {timeout:.0f} s")
