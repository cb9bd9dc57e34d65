"""The "Phát trực tiếp" socket and page without a browser or a broker: the real app on a real
SQLite commune, driven through Starlette's test client. Who is refused (no session, another
site, no permission, a wrong token) and that nothing went live for them; the frame gate; a
session kept as a live bulletin however it ends (the page's stop, a frame past the limits,
a page gone quiet). Sounding on real points is tests/controller/web/test_on_air.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from controller import permissions
from controller.api.app import create_app
from controller.auth import token_digest
from controller.models import AuditEntry, Bulletin, User, WebSession
from controller.web import live_socket, sessions
from controller.web.i18n import translate
from controller.web.live_socket import FrameError, FrameGate
from tests.controller.commune import Commune
from tests.support import wait_for

ORIGIN = {"origin": "http://testserver"}
FRAME = np.zeros(1920, "<i2").tobytes()  # 40 ms, as the page sends


def test_the_gate_takes_real_time_frames_as_float_samples():
    gate = FrameGate()
    block = np.array([0, 16384, -32768], "<i2").tobytes()
    assert gate.take(block, now=100.0).tolist() == [0.0, 0.5, -1.0]
    # ten seconds at the pace of the clock, 40 ms at a time
    frame = np.zeros(1920, "<i2").tobytes()
    for k in range(250):
        gate.take(frame, now=100.0 + k * 0.04)
    assert gate.samples == 3 + 250 * 1920


@pytest.mark.parametrize(
    ("data", "key", "code"),
    [
        (b"\0" * (live_socket.MAX_FRAME_BYTES + 2), "onair.error.too_big", 1009),
        (b"\0" * 3, "onair.error.format", 4400),
    ],
)
def test_the_gate_refuses_a_frame_too_big_or_not_16_bit(data, key, code):
    with pytest.raises(FrameError) as refused:
        FrameGate().take(data, now=0.0)
    assert (refused.value.key, refused.value.code) == (key, code)


def test_the_gate_allows_a_catch_up_burst_but_not_faster_than_real_time():
    gate = FrameGate()
    frame = np.zeros(4800, "<i2").tobytes()  # 100 ms
    for _ in range(round(live_socket.BURST_S / 0.1)):  # a stalled phone sends its backlog at once
        gate.take(frame, now=5.0)
    with pytest.raises(FrameError) as refused:
        gate.take(frame, now=5.0)
    assert refused.value.key == "onair.error.too_fast"
    assert gate.samples == int(live_socket.BURST_S * 48000)  # the refused frame was not counted


def log_in(commune: Commune, client: TestClient, username: str) -> str:
    """Set the session cookie for ``username``; the session's CSRF token."""
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        token = sessions.open_session(s, commune.config, user)
        csrf = s.scalars(
            select(WebSession.csrf).where(WebSession.token_sha256 == token_digest(token))
        ).one()
    client.cookies.set(sessions.COOKIE, token)
    return csrf


@pytest.fixture
def client(commune: Commune) -> Iterator[TestClient]:
    with TestClient(create_app(commune.config, start_dispatcher=False)) as c:
        yield c


def audited(commune: Commune, action: str) -> list[AuditEntry]:
    with commune.db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        s.expunge_all()
        return list(rows)


def live_bulletins(commune: Commune) -> list[tuple[str, int, dict[str, Any]]]:
    with commune.db.session() as s:
        return [
            (b.id, b.created_by, b.request)
            for b in s.scalars(select(Bulletin).where(Bulletin.kind == "live"))
        ]


def refused_at_handshake(client: TestClient, headers: dict[str, str]) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(live_socket.PATH, headers=headers),
    ):
        pass
    return refused.value.code


def test_a_socket_without_a_session_or_from_another_site_is_refused_at_the_handshake(
    commune, client
):
    assert refused_at_handshake(client, ORIGIN) == live_socket.FORBIDDEN  # no cookie
    log_in(commune, client, "phatthanh")
    # the broadcaster's own cookie, sent by a page on another site
    assert refused_at_handshake(client, {"origin": "https://evil.example"}) == 4403
    assert refused_at_handshake(client, {}) == 4403  # no Origin: not a page of this site
    assert audited(commune, "live.start") == []


@pytest.mark.parametrize("hello", ['{"csrf": "not-the-token", "all": true}', '{"all": true}'])
def test_a_wrong_csrf_token_closes_the_socket_before_any_audio(commune, client, hello):
    log_in(commune, client, "phatthanh")
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        ws.send_text(hello)
        answer = ws.receive_json()
        assert answer["type"] == "error"
        assert "hết hạn" in answer["message"]  # the form expired: reload the page
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == live_socket.FORBIDDEN
    assert audited(commune, "live.start") == []
    assert client.app.state.live.current() == []


def test_bad_targets_are_said_in_words_and_nothing_goes_live(commune, client):
    csrf = log_in(commune, client, "phatthanh")
    for where, words in (({}, "Hãy chọn nơi phát"), ({"zones": ["thon-xa"]}, "Không có thôn")):
        with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
            ws.send_json({"csrf": csrf, **where})
            answer = ws.receive_json()
            assert answer["type"] == "error"
            assert words in answer["message"]
    assert audited(commune, "live.start") == []


def test_a_role_without_the_live_permission_has_no_link_no_page_and_no_socket(
    commune, client, monkeypatch
):
    monkeypatch.setitem(permissions.PERMISSIONS, "live", frozenset({"admin", "broadcaster"}))
    csrf = log_in(commune, client, "pheduyet")
    assert 'href="/on-air"' not in client.get("/").text
    assert client.get("/on-air").status_code == 403
    assert refused_at_handshake(client, ORIGIN) == live_socket.FORBIDDEN
    assert csrf  # a valid session and token were not enough
    # and the broadcaster, who holds it, has the link and the page
    log_in(commune, client, "phatthanh")
    assert 'href="/on-air"' in client.get("/").text
    page = client.get("/on-air")
    assert page.status_code == 200
    assert "Phát trực tiếp" in page.text
    client.cookies.set("loa_lang", "en")
    assert "Speak live" in client.get("/on-air").text


def go_live(ws: Any, csrf: str, **where: Any) -> dict[str, Any]:
    ws.send_json({"csrf": csrf, "title": "Tìm trẻ lạc", **where})
    opened: dict[str, Any] = ws.receive_json()
    assert opened["type"] == "open", opened
    return opened


def test_a_session_from_the_page_is_kept_as_a_live_bulletin_with_its_author(commune, client):
    csrf = log_in(commune, client, "phatthanh")
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        opened = go_live(ws, csrf, zones=["thon-dong"])
        assert opened["targets"] == len(commune.nodes_in("thon-dong"))
        ws.send_text("not json: ignored")  # the page sends only stop as text
        for _ in range(25):  # a second
            ws.send_bytes(FRAME)
        ws.send_json({"type": "stop"})
        ended = ws.receive_json()
    assert ended["type"] == "ended"
    assert ended["bulletin_id"]
    assert ended["seconds"] == pytest.approx(1.0)
    assert ended["reason"] == "ended on the page"
    [(bulletin_id, author, request)] = live_bulletins(commune)
    assert bulletin_id == ended["bulletin_id"]
    assert author == commune.user("phatthanh").id
    assert sorted(request["targets"]) == sorted(commune.nodes_in("thon-dong"))
    [start] = audited(commune, "live.start")
    assert start.actor == "phatthanh"
    assert start.detail["source"] == "web"
    assert audited(commune, "live.end")[0].detail["bulletin_id"] == bulletin_id


def test_a_session_ended_elsewhere_ends_on_the_page(commune, client):
    csrf = log_in(commune, client, "phatthanh")
    live = client.app.state.live
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        go_live(ws, csrf, all=True)
        ws.send_bytes(FRAME)
        [session] = live.current()
        live.stop(session.session_id, commune.user("admin"))  # e.g. POST /api/v1/live/<id>/stop
        ended = ws.receive_json()
    assert ended["type"] == "ended"
    assert ended["reason"] == "ended by admin"
    assert live.current() == []


def test_a_frame_past_the_limits_ends_the_session_and_keeps_what_was_said(commune, client):
    csrf = log_in(commune, client, "phatthanh")
    frame = np.zeros(live_socket.MAX_FRAME_BYTES // 2, "<i2").tobytes()
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        go_live(ws, csrf, all=True)
        ws.send_bytes(frame)
        ws.send_bytes(frame + b"\0\0")  # one sample too many
        refused = ws.receive_json()
        ended = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert refused["type"] == "error"
    assert "quá lớn" in refused["message"]
    assert closed.value.code == 1009
    assert ended["bulletin_id"]
    assert ended["reason"].startswith("An audio frame was too large")
    assert [b[0] for b in live_bulletins(commune)] == [ended["bulletin_id"]]


def test_a_page_that_goes_quiet_ends_its_session(commune, client, monkeypatch):
    monkeypatch.setattr(live_socket, "QUIET_S", 0.3)
    csrf = log_in(commune, client, "phatthanh")
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        go_live(ws, csrf, all=True)
        ws.send_bytes(FRAME)
        ended = ws.receive_json()  # nothing more is sent: the phone lost its network
    assert ended["type"] == "ended"
    assert "quiet" in ended["reason"]
    assert client.app.state.live.current() == []


def test_a_page_that_goes_away_ends_its_session_and_keeps_it(commune, client):
    csrf = log_in(commune, client, "phatthanh")
    live = client.app.state.live
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        go_live(ws, csrf, all=True)
        for _ in range(5):
            ws.send_bytes(FRAME)
        ws.close(1001)  # the tab closed: no stop message, the socket just ends
        [end] = wait_for(lambda: audited(commune, "live.end"), 10, "the session kept")
    assert live.current() == []
    assert end.detail["reason"] == "the page went away"
    assert [b[0] for b in live_bulletins(commune)] == [end.detail["bulletin_id"]]


@pytest.mark.parametrize("hello", ["not json", "[1, 2]", '{"csrf": "' + "x" * 5000 + '"}'])
def test_a_first_message_that_is_not_a_request_is_refused_in_words(commune, client, hello):
    log_in(commune, client, "phatthanh")
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as ws:
        ws.send_text(hello)
        answer = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert answer == {"type": "error", "message": translate("onair.error.hello", "vi")}
    assert closed.value.code == live_socket.BAD_REQUEST
    assert audited(commune, "live.start") == []


def test_a_point_live_in_another_session_is_refused_to_a_second_broadcaster(commune, client):
    csrf = log_in(commune, client, "phatthanh")
    with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as first:
        go_live(first, csrf, zones=["thon-dong"])
        with client.websocket_connect(live_socket.PATH, headers=ORIGIN) as second:
            second.send_json({"csrf": csrf, "all": True})
            answer = second.receive_json()
        first.send_json({"type": "stop"})
        assert first.receive_json()["type"] == "ended"
    assert answer["type"] == "error"
    assert "Đang có phiên trực tiếp khác" in answer["message"]
    assert len(audited(commune, "live.start")) == 1
