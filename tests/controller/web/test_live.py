"""The live stream the pages listen to: node states and a bulletin's plays, pushed on change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests.support import wait_for
from tests.support.web import PASSWORD


def session_cookies(base_url: str, account: str) -> dict[str, str]:
    with httpx.Client(base_url=base_url) as c:
        form = c.get("/login")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = c.post("/login", data={"username": account, "password": PASSWORD, "csrf": csrf})
        assert r.status_code == 303, r.text
        return dict(c.cookies)


def events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def test_node_states_stream_and_change_when_a_node_goes_away(web_system):
    url = web_system.cluster.url
    wait_for(
        lambda: all(n["status"] == "online" for n in web_system.http().get("/api/v1/nodes").json()),
        30,
        "all nodes online",
    )
    victim = web_system.node_ids[0]
    cookies = session_cookies(url, "pheduyet")
    with (
        httpx.Client(base_url=url, cookies=cookies, timeout=60) as c,
        c.stream("GET", "/live") as r,
    ):
        assert r.headers["content-type"].startswith("text/event-stream")
        stream = events(r)
        name, first = next(stream)
        assert name == "nodes"
        assert {n["id"]: n["status"] for n in first}[victim] == "online"
        web_system.cluster.stop_node(victim)
        for name, rows in stream:
            if name == "nodes" and {n["id"]: n["status"] for n in rows}[victim] == "offline":
                break
    web_system.cluster.start_node(victim)


def test_a_bulletins_plays_stream_as_they_happen(web_system, speech_wav):
    url = web_system.cluster.url
    r = web_system.post_bulletin(speech_wav, zones="thon-dong")
    assert r.status_code == 201, r.text
    bulletin_id = r.json()["id"]
    cookies = session_cookies(url, "phatthanh")
    seen: set[str] = set()
    with (
        httpx.Client(base_url=url, cookies=cookies, timeout=60) as c,
        c.stream("GET", f"/live?bulletin={bulletin_id}") as resp,
    ):
        for name, data in events(resp):
            if name != "deliveries":
                continue
            assert isinstance(data, dict)
            seen.update(n["status"] for n in data["nodes"])
            if data["summary"]["played"] == data["summary"]["targets"] == 2:
                assert all(n["zone"] == "thon-dong" for n in data["nodes"])
                assert all(n["status_text"] for n in data["nodes"])
                break
    assert seen & {"started", "finished"}


def test_the_stream_needs_a_login_and_a_known_bulletin(web_system):
    url = web_system.cluster.url
    with httpx.Client(base_url=url) as c:
        assert c.get("/live", headers={"X-Requested-With": "fetch"}).status_code == 401
    with httpx.Client(base_url=url, cookies=session_cookies(url, "phatthanh")) as c:
        r = c.get("/live?bulletin=nope", headers={"X-Requested-With": "fetch"})
        assert r.status_code == 404
