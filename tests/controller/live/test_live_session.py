"""The controller's live path on a real SQLite commune, packets kept in memory: what one session
publishes, signs, sends each point and keeps, and what it refuses."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import select

from controller.delivery.dispatcher import Dispatcher
from controller.errors import ConflictError, InvalidInputError
from controller.live import Live, LiveRequest
from controller.models import AuditEntry, Bulletin, Delivery, OutboxCommand
from protocol.live import SeqWindow, decode_packet
from protocol.messages import LiveStartCommand, LiveStopCommand, SignedEnvelope
from protocol.signing import load_public_key
from tests.controller.commune import Commune

RATE = 48000


class MemoryStream:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def publish_packet(self, topic: str, data: bytes) -> bool:
        with self._lock:
            self.sent.append((topic, data))
        return True


@pytest.fixture
def stream() -> MemoryStream:
    return MemoryStream()


@pytest.fixture
def live(dispatcher: Dispatcher, stream: MemoryStream) -> Live:
    return Live(dispatcher, stream)


def voice(seconds: float) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(int(seconds * RATE)) * 0.05).astype(np.float32)
    yield from np.split(x, range(4800, len(x), 4800))


def commands(commune: Commune, play_id: str | None = None) -> list[tuple[OutboxCommand, object]]:
    with commune.db.session() as s:
        rows = s.scalars(select(OutboxCommand)).all()
        return [
            (row, commune.verified(row.node_id, row.envelope).command)
            for row in rows
            if play_id is None or row.play_id == play_id
        ]


def test_a_session_publishes_each_packet_once_signed_and_keeps_what_was_sent(
    commune: Commune, live: Live, stream: MemoryStream
):
    targets = commune.nodes_in("thon-dong", "thon-tay")
    user = commune.user("phatthanh")
    summary = live.run(
        user, LiveRequest(targets=targets, title="Mất nước", reason="test"), voice(1.0)
    )

    # one start command per point, signed by the controller, withdrawn once it was over
    starts = [(row, cmd) for row, cmd in commands(commune, summary.play_id)]
    assert sorted(row.node_id for row, _ in starts) == targets
    assert {row.result for row, _ in starts} == {"withdrawn"}  # no point ever acknowledged
    start = starts[0][1]
    assert isinstance(start, LiveStartCommand)
    # every packet on one topic, once, whatever the number of points; each one verifies
    topics = {topic for topic, _ in stream.sent}
    assert topics == {f"loa/v1/stream/{start.stream_id}"}
    key = load_public_key(start.packet_key)
    window = SeqWindow()
    packets = [decode_packet(data, start, key) for _, data in stream.sent]
    for p in packets:
        window.take(p.seq)
    assert len(packets) == summary.packets_sent >= RATE // 1920
    seqs = [p.seq for p in packets]
    assert seqs == sorted(set(seqs))
    # numbers are skipped only where the source fell behind the clock (a busy machine)
    assert (seqs == list(range(len(seqs)))) == (summary.source_gaps == 0)
    assert packets[-1].last
    assert not any(p.last for p in packets[:-1])
    # then a stop after the last packet to every point
    stops = [cmd for _, cmd in commands(commune) if isinstance(cmd, LiveStopCommand)]
    assert len(stops) == len(targets)
    assert {s.last_seq for s in stops} == {packets[-1].seq}
    # kept as a live bulletin, its deliveries waiting for the points' reports, and audited
    with commune.db.session() as s:
        bulletin = s.get(Bulletin, summary.bulletin_id)
        assert bulletin is not None
        assert (bulletin.kind, bulletin.public, bulletin.title) == ("live", False, "Mất nước")
        assert (commune.config.audio_dir / f"{bulletin.audio_sha256}.ogg").exists()
        deliveries = s.scalars(select(Delivery).where(Delivery.play_id == summary.play_id)).all()
        assert sorted(d.node_id for d in deliveries) == targets
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "phatthanh"))
        assert {"live.start", "live.end"} <= set(actions)
    assert live.current() == []


def test_a_point_already_live_is_refused_to_a_second_session(commune: Commune, live: Live):
    [node] = commune.nodes_in("thon-dong")[:1]
    user = commune.user("phatthanh")
    first = live.open(user, LiveRequest(targets=[node]))
    try:
        assert [x.session_id for x in live.current()] == [first.id]
        with pytest.raises(ConflictError, match="already live"):
            live.open(user, LiveRequest(targets=[node]))
    finally:
        live.close(first)
    silent = live.close(live.open(user, LiveRequest(targets=[node])))
    assert silent.bulletin_id is None  # nobody spoke: nothing kept, the points told to end
    told = [c for _r, c in commands(commune) if isinstance(c, LiveStopCommand)]
    assert any(c.session_id == silent.session_id and c.last_seq is None for c in told)
    assert {r.result for r, _c in commands(commune, silent.play_id)} == {"withdrawn"}


def test_bad_requests_are_refused_and_change_nothing(commune: Commune, live: Live):
    user = commune.user("phatthanh")
    node = commune.nodes_in("thon-dong")[0]
    for request, code in [
        (LiveRequest(targets=[]), "live.no_targets"),
        (LiveRequest(targets=[node], frame_ms=30), "live.frame"),
        (LiveRequest(targets=[node], delay_ms=50), "live.delay"),
    ]:
        with pytest.raises(InvalidInputError) as refused:
            live.open(user, request)
        assert refused.value.code == code
    assert commands(commune) == []
    with commune.db.session() as s:
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action.like("live.%"))).all()


def test_stop_ends_a_running_session_and_says_who(commune: Commune, live: Live):
    node = commune.nodes_in("thon-tay")[0]
    speaker, approver = commune.user("phatthanh"), commune.user("pheduyet")

    def endless() -> Iterator[np.ndarray]:
        while True:
            yield np.zeros(4800, np.float32)
            if live.current():
                live.stop(live.current()[0].session_id, approver, "xong")

    summary = live.run(speaker, LiveRequest(targets=[node]), endless())
    assert summary.reason == "xong"
    with commune.db.session() as s:
        stops = s.scalars(select(AuditEntry).where(AuditEntry.action == "live.stop")).all()
        assert [(a.actor, a.detail["reason"]) for a in stops] == [("pheduyet", "xong")]


def test_the_start_command_is_what_a_node_verifies(commune: Commune, live: Live):
    node = commune.nodes_in("thon-dong")[0]
    session = live.open(commune.user("phatthanh"), LiveRequest(targets=[node]))
    try:
        [(row, cmd)] = commands(commune, session.play_id)
        envelope = SignedEnvelope.model_validate_json(row.envelope)
        assert b"live_start" in base64.b64decode(envelope.body)
        assert isinstance(cmd, LiveStartCommand)
        assert cmd.session_id == session.id
        assert row.expires_at > session.opened_at
    finally:
        live.close(session)


def test_live_denoise_in_the_config_puts_the_denoiser_in_the_sessions_chain(
    commune: Commune, dispatcher: Dispatcher, stream: MemoryStream
):
    user = commune.user("phatthanh")
    targets = commune.nodes_in("thon-dong")
    waits = []
    for on, source in ((False, "cli"), (True, "cli"), (True, "web"), (True, "relay")):
        dispatcher.config = commune.config.model_copy(update={"live_denoise": on})
        live = Live(dispatcher, stream)
        request = LiveRequest(targets=targets, title="Mất nước", reason="test", source=source)
        session = live.open(user, request)
        waits.append(session.chain.wait)
        live.close(session)
    # a voice is denoised when the config says so; a relayed station (music) never is
    assert waits == [0, round(0.3 * RATE), round(0.3 * RATE), 0]
