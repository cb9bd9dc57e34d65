"""After `loa init`, a running broker and controller and a bulletin upload, nothing in the data
directory is readable by anyone but its owner: database and its journals, logs, the broker's
files and database, keys, uploads and stored audio (real commands, real broker, real upload)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from controller.nodes import bootstrap, broker
from controller.ops.cluster import Cluster
from controller.private_files import exposed


def loa(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_after_an_upload_the_data_directory_is_its_owners_alone(tmp_path: Path, speech_wav):
    old = os.umask(0o022)  # the usual umask: the controller must not rely on its caller's
    data = tmp_path / "ctl"
    try:
        ports = ("--mqtt-port", str(broker.free_port()), "--http-port", str(broker.free_port()))
        loa("init", "--data", str(data), "--commune", "Xã Thử", *ports)
        out = loa(
            *("user", "add", "--data", str(data), "--username", "lan"),
            *("--role", "broadcaster", "--password", "mat-khau-dai"),
        )
        token = out.rsplit("API token: ", 1)[1].strip()
        cluster = Cluster(bootstrap.load_config(data))
        try:
            cluster.start_broker()
            cluster.start_controller()
            with (
                httpx.Client(base_url=cluster.url, timeout=60) as client,
                speech_wav.open("rb") as fh,
            ):
                resp = client.post(
                    "/api/v1/bulletins",
                    files={"file": ("ban-tin.wav", fh)},
                    data={"hold": "true"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            assert resp.status_code == 201, resp.text
            stored = data / "audio" / f"{resp.json()['audio_sha256']}.ogg"
            assert stored.exists()
            assert (data / "loalang.sqlite3-wal").exists()  # while the controller runs
            opened = [p for p in exposed(data) if p.exists()]
            assert not [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in opened]
        finally:
            cluster.stop_all()
    finally:
        os.umask(old)
    assert (data / "logs" / "controller.log").exists()
    assert (data / "broker" / "mosquitto.log").exists()
    assert not [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in exposed(data)]
