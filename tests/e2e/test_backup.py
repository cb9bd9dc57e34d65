"""`loa backup` while bulletins are being delivered, `loa restore` into a fresh directory, and
the controller started there: the same bulletins, reports, nodes and accounts, and the nodes
(still pinned to the same key, logging in with the same passwords) play a new bulletin."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from datetime import datetime
from typing import Any

from controller.backup.restore import restore
from controller.nodes import bootstrap
from controller.ops.cluster import Cluster
from schedules import LOCAL
from tests.controller.backup.test_backup_restore import rows
from tests.support import SystemUnderTest, all_online, wait_for


def loa(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def view(sut: SystemUnderTest, bulletin_ids: list[str]) -> dict[str, Any]:
    """What the API says about the commune: nodes and each bulletin's report."""
    with sut.http() as c:
        nodes = sorted((n["id"], n["name"], n["zone"]) for n in c.get("/api/v1/nodes").json())
    reports = {}
    for bid in bulletin_ids:
        report = sut.report(bid)
        reports[bid] = (
            report["summary"]["played"],
            sorted((n["node_id"], n["status"], n["started_at"]) for n in report["nodes"]),
        )
    return {"nodes": nodes, "reports": reports}


def test_backup_while_delivering_then_restore_and_keep_delivering(
    system_factory, speech_wav, tmp_path
):
    sut = system_factory(nodes=2, backup_dir=str(tmp_path / "nightly"), backup_time="03:15")
    sut.cluster.start_all()
    wait_for(lambda: all_online(sut), 30, "both nodes online")
    # the nightly job is in the controller's own job store, for 03:15 local time
    [(next_run,)] = rows(
        sut.cluster.config.data_dir, "SELECT next_run_time FROM apscheduler_jobs WHERE id='backup'"
    )
    at = datetime.fromtimestamp(float(str(next_run)), LOCAL)
    assert (at.hour, at.minute) == (3, 15)
    data = str(sut.cluster.config.data_dir)
    backups = tmp_path / "backups"

    posted: list[str] = []
    refused: list[str] = []

    def post_bulletins() -> None:
        for k in range(4):
            resp = sut.post_bulletin(speech_wav, title=f"Bản tin {k}", all="true")
            if resp.status_code != 201:
                refused.append(resp.text)
                return
            posted.append(resp.json()["id"])

    poster = threading.Thread(target=post_bulletins)
    poster.start()
    during = 0
    while poster.is_alive() or during == 0:  # as many backups as the posting lasts
        loa("backup", str(backups), "--data", data)
        during += 1
    poster.join()
    assert refused == []
    wait_for(
        lambda: all(sut.report(bid)["summary"]["completed"] == 2 for bid in posted),
        120,
        "every bulletin delivered to both nodes",
    )

    # every backup taken mid-delivery restores whole: each bulletin it holds has its sound
    for k, made in enumerate(sorted(backups.iterdir())):
        done = restore(made, tmp_path / f"check{k}")
        assert done.manifest.skipped == {}
        held = rows(done.data_dir, "SELECT id, audio_sha256 FROM bulletins")
        assert {bid for bid, _sha in held} <= set(posted)
        for _bid, sha in held:
            sound = (done.data_dir / "audio" / f"{sha}.ogg").read_bytes()
            assert hashlib.sha256(sound).hexdigest() == sha

    # a backup of the settled system, restored and run in place of the original
    final = loa("backup", str(tmp_path / "final"), "--data", data).stdout
    assert "backup written:" in final
    [made] = list((tmp_path / "final").iterdir())
    before = view(sut, posted)
    old_dir = sut.cluster.config.data_dir
    new_dir = tmp_path / "restored"
    assert "restored" in loa("restore", str(made), "--data", str(new_dir)).stdout
    sut.cluster.stop_controller()
    sut.cluster.stop_broker()  # the nodes keep running, and reconnect to the restored broker

    restored = Cluster(bootstrap.load_config(new_dir), dict(sut.cluster.node_configs))
    restored.nodes = sut.cluster.nodes
    sut.cluster.nodes = {}
    again = SystemUnderTest(restored, sut.token, sut.observer)  # the same API token works
    try:
        restored.start_broker()
        restored.start_controller()
        assert view(again, posted) == before
        for sql in (
            "SELECT username, password_hash, role, active FROM users",
            "SELECT token_sha256, user_id FROM api_tokens",
            "SELECT id, title, audio_sha256 FROM bulletins",
            "SELECT actor, action, target FROM audit_log",
        ):
            assert rows(new_dir, sql) == rows(old_dir, sql), sql
        wait_for(lambda: all_online(again), 60, "the nodes back online on the restored broker")
        resp = again.post_bulletin(speech_wav, title="Sau khi khôi phục", all="true")
        assert resp.status_code == 201, resp.text
        bid = resp.json()["id"]
        report = wait_for(
            lambda: (r := again.report(bid))["summary"]["completed"] == 2 and r,
            90,
            "both nodes to play a bulletin from the restored controller",
        )
        assert report["summary"]["played"] == 2
        for node_id in again.node_ids:
            assert (again.played_dir(node_id) / f"{bid}.wav").exists()
    finally:
        restored.stop_all()
