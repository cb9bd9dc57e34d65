"""`loa demo` as a user runs it: it starts, plays a posted recording, and Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from controller.nodes import broker
from tests.support import wait_for


def test_demo_starts_plays_and_stops_cleanly_on_ctrl_c(tmp_path, speech_wav):
    data = tmp_path / "demo"
    http_port, mqtt_port = broker.free_port(), broker.free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "demo",
            "--data",
            str(data),
            "--nodes",
            "2",
            "--http-port",
            str(http_port),
            "--mqtt-port",
            str(mqtt_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        creds_file = data / "credentials.json"
        wait_for(creds_file.exists, 60, "credentials.json")
        creds = json.loads(creds_file.read_text())
        assert creds["url"] == f"http://127.0.0.1:{http_port}"
        headers = {"Authorization": f"Bearer {creds['api_token']}"}

        def healthy() -> bool:
            try:
                return httpx.get(f"{creds['url']}/api/v1/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, "the controller")
        with httpx.Client(base_url=creds["url"]) as web:  # the printed web logins work
            form = web.get("/login").text
            csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            account = creds["accounts"]["phatthanh"]
            r = web.post(
                "/login",
                data={"username": "phatthanh", "password": account["password"], "csrf": csrf},
            )
            assert r.status_code == 303
            assert "Tổng quan" in web.get("/").text
        with httpx.Client(base_url=creds["url"], headers=headers, timeout=60) as c:
            nodes = c.get("/api/v1/nodes").json()
            assert len(nodes) == 2
            slots = c.get("/api/v1/programme").json()["slots"]  # the usual news slots
            assert [(x["name"], x["start"]) for x in slots] == [
                ("Bản tin sáng", "06:00:00"),
                ("Bản tin chiều", "17:00:00"),
            ]
            assert {n["zone"] for n in nodes} == {"thon-dong", "thon-tay"}  # two villages
            with speech_wav.open("rb") as fh:
                bid = c.post("/api/v1/bulletins", files={"file": fh}, data={"all": "true"}).json()[
                    "id"
                ]
            wait_for(
                lambda: (
                    c.get(f"/api/v1/bulletins/{bid}/report").json()["summary"]["completed"] == 2
                ),
                60,
                "both demo nodes to play it",
            )
        for node in nodes:
            assert (data / "nodes" / node["id"] / "played" / f"{bid}.wav").exists()
        children = [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-P", str(demo.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
        ]
        assert len(children) == 4  # broker, controller, two nodes
        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, out
        assert "admin login" in out
        assert "broadcaster login: phatthanh" in out
        assert creds["api_token"] in out
        time.sleep(0.5)
        for pid in children:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            assert state == "Z", f"child {pid} still running after Ctrl-C"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
