"""Relay (tiếp âm) end to end: a real Icecast fed by ffmpeg, a relay item made through the API,
three node processes. The station plays in step on every point; the source dropped mid-window
is a reported gap, and the station is back on the same session when its source returns."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from schedules import LOCAL
from tests.e2e.test_live import RATE, lag_of, read_wav, source_pcm
from tests.support import SystemUnderTest, controller_rows, make_system, wait_for
from tests.support.icecast import feed, icecast, on_air

MOUNT = "/vov1.mp3"
WINDOW_S = 30


@pytest.fixture(scope="module")
def sut(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    system = make_system(
        tmp_path_factory.mktemp("relay"), nodes=3, relay_allowed_hosts=["127.0.0.1"]
    )
    system.cluster.start_all()

    def online() -> bool:
        with system.http() as c:
            nodes = c.get("/api/v1/nodes").json()
        return len(nodes) == 3 and all(n["status"] == "online" for n in nodes)

    wait_for(online, 60, "three points online")
    yield system
    system.cluster.stop_all()


def relay_item(sut: SystemUnderTest, url: str, starts_in_s: float) -> dict[str, Any]:
    start = (dt.datetime.now(LOCAL) + dt.timedelta(seconds=starts_in_s)).replace(microsecond=0)
    return {
        "id": "vov1-thu",
        "title": "VOV1 thời sự",
        "url": url,
        "duration_s": WINDOW_S,
        "recurrence": {
            "kind": "once",
            "start_date": start.date().isoformat(),
            "at": start.time().isoformat(),
        },
        "nodes": sut.node_ids,
    }


def datetime_of(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def relay_session(sut: SystemUnderTest) -> dict[str, Any] | None:
    with sut.http() as c:
        live = [x for x in c.get("/api/v1/live").json() if x["source"] == "relay"]
    return live[0] if live else None


def test_a_relay_plays_the_station_in_step_and_reports_the_gap_when_it_drops(sut, long_speech):
    with icecast() as port:
        url = f"http://127.0.0.1:{port}{MOUNT}"
        source = on_air(port, MOUNT, long_speech)
        try:
            with sut.http() as c:
                made = c.post("/api/v1/relays", json=relay_item(sut, url, 2))
                assert made.status_code == 201, made.text
                # an internal address that the operator did not list is refused
                bad = relay_item(sut, "http://127.0.0.2:8080/", 2) | {"id": "noi-bo"}
                refused = c.post("/api/v1/relays", json=bad)
                assert refused.status_code == 422, refused.text
                assert "internal" in refused.text
            session = wait_for(
                lambda: (x := relay_session(sut)) and x["seconds_sent"] >= 5 and x,
                30,
                "five seconds of the station relayed",
            )
            source.terminate()  # the station's source drops mid-window
            source.wait(10)
            # what was buffered plays out, then silence keeps the session up
            then = session["seconds_sent"] + 3
            wait_for(
                lambda: (x := relay_session(sut)) and x["seconds_sent"] >= then and x,
                30,
                "the session kept up through the gap",
            )
            source = feed(port, MOUNT, long_speech)  # and comes back
            play_id = session["play_id"]

            def finished() -> list[dict[str, Any]] | None:
                with sut.http() as c:
                    runs = c.get("/api/v1/relays/vov1-thu/runs").json()
                done = runs and runs[0]["status"] == "finished"
                played = done and all(p["seconds_carried"] > 0 for p in runs[0]["points"])
                return runs if played and len(runs[0]["points"]) == 3 else None

            [run] = wait_for(finished, WINDOW_S + 40, "the relay window over and reported")
        finally:
            source.terminate()
            source.wait(10)

    # the report: the gap with its reason, closed when the station came back; minutes per point
    assert run["play_id"] == play_id
    gaps = run["gaps"]
    assert gaps, json.dumps(run)
    for gap in gaps:
        assert gap["reason"] in {"ended", "unreachable", "stalled"}
        assert gap["reason_vi"]
    longest = max(datetime_of(g["end"]) - datetime_of(g["start"]) for g in gaps)
    assert dt.timedelta(seconds=1) <= longest < dt.timedelta(seconds=WINDOW_S - 5), gaps
    # closed well before the window's end: the station came back on the same session
    assert datetime_of(gaps[-1]["end"]) < datetime_of(run["window_end"]) - dt.timedelta(seconds=3)
    assert run["seconds_relayed"] > 8, json.dumps(run)
    assert run["seconds_filled"] >= 1
    for point in run["points"]:
        assert point["status"] == "finished"
        assert point["seconds_carried"] == pytest.approx(WINDOW_S, abs=2.5)
        assert 0 < point["minutes_relayed"] < WINDOW_S / 60

    # what the points were sent is the station (the leveller reshapes it: a looser likeness)
    [(sha,)] = controller_rows(
        sut, "SELECT audio_sha256 FROM bulletins WHERE id=?", run["bulletin_id"]
    )
    sent = source_pcm(sut.cluster.config.audio_dir / f"{sha}.ogg")
    speech = source_pcm(long_speech)
    probes = [speech[k * RATE : (k + 2) * RATE] for k in range(1, 12, 2)]
    assert max(lag_of(sent, probe)[1] for probe in probes) > 0.6
    # and each sink holds what was sent, in step across the points
    loudest = max(
        range(0, len(sent) - 3 * RATE, RATE), key=lambda k: float(np.std(sent[k : k + 3 * RATE]))
    )
    station = sent[loudest : loudest + 3 * RATE]  # three seconds of the station, not of silence
    heard: dict[str, np.ndarray] = {}
    starts: dict[str, float] = {}
    for node_id in sut.node_ids:
        played = sut.played_dir(node_id)
        heard[node_id] = read_wav(played / f"{play_id}.wav")
        starts[node_id] = json.loads((played / f"{play_id}.json").read_text())["started_at"]
        _lag, alike = lag_of(heard[node_id], station)
        assert alike > 0.9, f"{node_id} did not play the station ({alike:.2f})"
    first = sut.node_ids[0]
    for other in sut.node_ids[1:]:
        lag, _ = lag_of(heard[first], heard[other])
        offset_s = (starts[first] + lag / RATE) - starts[other]
        assert abs(offset_s) <= 0.020, f"points {offset_s * 1000:.1f} ms apart"

    # kept as a live bulletin, audited as a relay
    [(kind,)] = controller_rows(sut, "SELECT kind FROM bulletins WHERE id=?", run["bulletin_id"])
    assert kind == "live"
    actions = {r[0] for r in controller_rows(sut, "SELECT action FROM audit_log")}
    assert {"relay.add", "live.start", "live.end"} <= actions


def test_the_api_changes_and_removes_a_relay_and_refuses_a_bad_one(sut):
    item = relay_item(sut, "http://127.0.0.1:9/khong-co.mp3", 3600)
    item["id"] = "tinh-chieu"
    with sut.http() as c:
        assert c.post("/api/v1/relays", json=item).status_code == 201
        # another station in the same window on the same points: one station at a time
        clash = c.post("/api/v1/relays", json=item | {"id": "trung-gio"})
        assert clash.status_code == 422
        assert (clash.json()["code"], clash.json()["field"]) == ("relay.overlap", "start")
        changed = c.put("/api/v1/relays/tinh-chieu", json=item | {"title": "Đài tỉnh"})
        assert changed.json()["title"] == "Đài tỉnh"
        assert "tinh-chieu" in [r["id"] for r in c.get("/api/v1/relays").json()]
        assert c.delete("/api/v1/relays/tinh-chieu").status_code == 200
        assert c.delete("/api/v1/relays/tinh-chieu").status_code == 404
        bad = c.post("/api/v1/relays", json=item | {"url": "file:///etc/passwd"})
        assert bad.status_code == 422
        assert "tinh-chieu" not in [r["id"] for r in c.get("/api/v1/relays").json()]
