"""Emergencies: pre-empt what is on air, open with the attention signal, cancel everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime

from controller.auth import create_user, issue_token
from controller.db import Database
from tests.support import SystemUnderTest, node_events, post_alert, wait_for


def second_account(sut: SystemUnderTest, name: str = "pho-chu-tich") -> str:
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        token = issue_token(s, create_user(s, name, "mat-khau-dai-1", "approver"))
    db.engine.dispose()
    return token


def test_emergency_preempts_a_bulletin_which_then_resumes(system_factory, long_speech, speech_wav):
    sut = system_factory(nodes=2)
    sut.cluster.start_all()
    bid = sut.post_bulletin(long_speech, all="true").json()["id"]
    wait_for(lambda: sut.report(bid)["summary"]["played"] == 2, 30, "the bulletin on air")
    time.sleep(2)
    resp = post_alert(sut, speech_wav, all="true")
    assert resp.status_code == 201, resp.text
    alert = resp.json()
    assert alert["state"] == "active"
    play_id = f"{alert['bulletin_id']}.r1"

    def alert_done():
        with sut.http() as c:
            a = c.get(f"/api/v1/alerts/{alert['id']}").json()
        return a["report"]["summary"]["completed"] == 2 and a

    done = wait_for(alert_done, 60, "the alert to finish on both nodes")
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 2 and r, 90, "the resume"
    )
    for node_id in sut.node_ids:
        played = sut.played_dir(node_id)
        assert (played / f"{play_id}.attention.wav").exists()  # the attention signal came first
        assert (played / f"{play_id}.wav").exists()
        cut = node_events(sut, node_id, "interrupted")
        assert [e["play_id"] for e in cut] == [bid]
        assert "pre-empted by emergency" in cut[0]["reason"]
        starts = [e for e in node_events(sut, node_id, "started") if e["play_id"] == bid]
        assert len(starts) == 2  # first airing, then the resume after the emergency
        alert_start = next(n for n in done["report"]["nodes"] if n["node_id"] == node_id)
        first, resumed = (datetime.fromisoformat(e["at"]) for e in starts)
        assert first < datetime.fromisoformat(alert_start["started_at"]) < resumed
    assert {n["status"] for n in report["nodes"]} == {"finished"}


def test_cancel_stops_an_alert_everywhere_at_once(system_factory, long_speech):
    sut = system_factory(nodes=2)
    sut.cluster.start_all()
    alert = post_alert(sut, long_speech, all="true", repeat=3, interval_s=20).json()

    def on_air():
        with sut.http() as c:
            nodes = c.get("/api/v1/nodes").json()
        return all(n["status"] == "playing" for n in nodes)

    wait_for(on_air, 30, "the alert on air")
    with sut.http() as c:
        resp = c.post(f"/api/v1/alerts/{alert['id']}/cancel", data={"reason": "báo nhầm"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "cancelled"

    def all_cancelled():
        with sut.http() as c:
            a = c.get(f"/api/v1/alerts/{alert['id']}").json()
        statuses = {n["status"] for n in a["report"]["nodes"]}
        return statuses <= {"cancelled"} and a

    final = wait_for(all_cancelled, 30, "every airing cancelled")
    assert len(final["report"]["nodes"]) == 6  # 2 nodes x 3 airings, none left to play
    for node_id in sut.node_ids:
        assert not (sut.played_dir(node_id) / f"{alert['bulletin_id']}.r2.wav").exists()

    def quiet():
        with sut.http() as c:
            return all(n["status"] == "online" for n in c.get("/api/v1/nodes").json())

    wait_for(quiet, 10, "the nodes to fall silent")
    # cancelling twice is refused and changes nothing
    with sut.http() as c:
        assert c.post(f"/api/v1/alerts/{alert['id']}/cancel").status_code == 409


def test_two_person_rule(system_factory, speech_wav):
    sut = system_factory(nodes=1, two_person_rule=True)
    sut.cluster.start_all()
    alert = post_alert(sut, speech_wav, all="true").json()
    assert alert["state"] == "proposed"
    time.sleep(2)
    assert not list(sut.played_dir(sut.node_ids[0]).glob("*.wav"))  # nothing aired yet

    with sut.http() as c:
        same = c.post(f"/api/v1/alerts/{alert['id']}/confirm")
    assert same.status_code == 403
    assert "different account" in same.json()["detail"]

    other = second_account(sut)
    with sut.http() as c:
        ok = c.post(
            f"/api/v1/alerts/{alert['id']}/confirm", headers={"Authorization": f"Bearer {other}"}
        )
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "active"
    assert ok.json()["confirmed_by"] == "pho-chu-tich"

    def done():
        with sut.http() as c:
            a = c.get(f"/api/v1/alerts/{alert['id']}").json()
        return a["report"]["summary"]["completed"] == 1

    wait_for(done, 60, "the confirmed alert to air")


def test_bad_alert_requests_are_refused(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    with sut.http() as c:
        r = c.post("/api/v1/alerts", data={"all": "true"})
        assert r.status_code == 422
        assert r.json()["detail"] == "an emergency needs a text or a recording"
        r = c.post("/api/v1/alerts", data={"all": "true", "text": "  "})
        assert r.status_code == 422
        assert r.json()["detail"] == "an emergency needs a text or a recording"
        r = post_alert(sut, speech_wav, zones="khong-co")
        assert r.status_code == 422
        assert "unknown zone" in r.json()["detail"]
        r = post_alert(sut, speech_wav, all="true", repeat=5, interval_s=3600, expires_minutes=60)
        assert r.status_code == 422
        assert r.json()["detail"] == "5 airings 3600 s apart outlast the expiry"
        assert c.get("/api/v1/alerts").json() == []
        r = c.post("/api/v1/alerts/nope/cancel")
        assert r.status_code == 404
        assert r.json()["detail"] == "no alert nope"


def test_alert_from_the_command_line(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    base = [
        sys.executable,
        "-m",
        "controller.cli",
        "alert",
        "--url",
        sut.cluster.url,
        "--token",
        sut.token,
    ]
    sent = subprocess.run(
        [*base, "send", "--file", str(speech_wav), "--all", "--repeat", "2", "--interval", "60"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    alert = json.loads(sent.stdout[: sent.stdout.rindex("}") + 1])
    assert alert["state"] == "active"
    assert alert["repeat"] == 2
    cancelled = subprocess.run(
        [*base, "cancel", alert["id"], "--reason", "thử nghiệm"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert '"state": "cancelled"' in cancelled.stdout
    refused = subprocess.run([*base, "send", "--all"], capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "needs a text or a recording" in refused.stderr


def test_cancel_with_a_correction_sends_the_corrected_alert(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    wrong = post_alert(sut, speech_wav, all="true", repeat=2, interval_s=60).json()
    with sut.http() as c:
        resp = c.post(
            f"/api/v1/alerts/{wrong['id']}/cancel",
            data={
                "reason": "sai địa điểm",
                "correction": "Đính chính: lũ ở thôn Tây, không phải thôn Đông.",
            },
        )
        assert resp.status_code == 200, resp.text
        alerts = c.get("/api/v1/alerts").json()
    fixed = next(a for a in alerts if a["replaces"] == wrong["id"])
    assert fixed["state"] == "active"
    assert fixed["repeat"] == 2  # same targets and repetitions as the alert it corrects

    def corrected_on_air() -> bool:
        with sut.http() as c:
            a = c.get(f"/api/v1/alerts/{fixed['id']}").json()
        return bool(a["report"]["summary"]["played"] == 1)

    wait_for(corrected_on_air, 60, "the correction on air")
