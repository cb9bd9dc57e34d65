"""Light loudspeaker points for the scale benchmark: the node agent's protocol code, no player.

    python -m bench.light_node --data-root DIR NODE_CONFIG...

Runs one point per node config (written by provisioning, ``controller/nodes/provision.py``) in
this one process, each with its own paho client and broker account (the broker binds the client
id to the user name), its own SQLite store and audio cache under ``DIR/<node id>``.

Reused unchanged from ``node_agent``: ``CommandHandler`` (Ed25519 signature, target, expiry and
the persistent replay guard), ``Bulletins`` (the play kept in the store, emergency announce,
download, ``ready``), ``Fetcher`` and ``AudioCache`` (chunk requests in windows, re-asks on
timeout, per-chunk and whole-file sha256, fsync), ``EventReporter`` (durable outbox, acks,
re-sends) and ``NodeControls``; the session is opened by ``protocol.mqtt_client`` as the agent's,
subscribed as the agent is (``protocol.topics.node_subscriptions``: its own topics and its
shard's group commands, which go through ``CommandHandler.on_group_command`` as on the agent).

Skipped, and so not measured:
- the player: no audio is decoded or played, no amplifier, no attention signal. An item
  "starts" and "finishes" the moment it falls due (an emergency starts when announced, as the
  real attention signal does, and is reported failed if its audio has not come by its end, as
  the real agenda does), so pre-roll, the exact start and the audio's length play no part;
- the schedule's restore after a restart (a point here never restarts), the cache size and
  wireless level in the state message;
- the clock check: the controller's signed answers to states (``state_ack``) are read past
  (node_agent/clock_check.py measures its clock from them; nothing here plays by a clock);
- one worker per point: one worker thread per process serves all its points in turn, and one
  network thread drives all their paho clients (``bench/light_network.py``; a Pi's agent has one
  of each).

Each point writes what it did to stdout as JSON lines (``online``, ``command`` with the time the
signed command reached its socket, and every play event with its time), for ``bench.scale``;
a writer thread sends them every 50 ms, so a slow reader never blocks the worker.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from bench.light_network import NetworkLoop
from node_agent.agenda import ALERT_EXPIRED
from node_agent.bulletins import Bulletins
from node_agent.cache import AudioCache
from node_agent.commands import CommandHandler
from node_agent.config import NodeConfig
from node_agent.controls import NodeControls
from node_agent.events import EventReporter
from node_agent.fetcher import Fetcher, shared_chunks
from node_agent.player import Player, Tone, Volumes
from node_agent.store import NodeStore, PersistentReplayGuard
from protocol import mqtt_client
from protocol.messages import (
    AGENT_CAPABILITIES,
    ChunkRequest,
    NodeState,
    PlayCommand,
    PlayEventKind,
    utcnow,
)
from protocol.signing import load_public_key
from protocol.timecheck import is_signed
from protocol.topics import (
    group_shard,
    node_subscriptions,
    node_topic,
    parse_group_topic,
    parse_node_topic,
    shared_content_sha,
)

log = logging.getLogger(__name__)
Report = Callable[[dict[str, object]], None]
Emit = Callable[..., None]  # EventReporter.play


class NullPlayer:
    """The calls ``Bulletins`` and ``NodeControls`` make on the player, answered at once."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.volumes = Volumes()
        self._due: list[tuple[float, str]] = []  # (start, play_id)
        self._queued: set[str] = set()
        self._on_air: set[str] = set()  # announced emergencies, "sounding" until their audio
        self._alerts: dict[str, float] = {}  # announced emergencies: valid until

    def announce_emergency(self, command: PlayCommand) -> None:
        if command.play_id not in self._on_air:
            self._on_air.add(command.play_id)
            self._alerts[command.play_id] = command.valid_until.timestamp()
            self._emit("started", command.play_id, at=time.time())

    def add(self, command: PlayCommand, resume_frame: int = 0) -> None:
        start = command.play_at.timestamp() if command.play_at else time.time()
        if command.play_id not in self._queued:
            self._queued.add(command.play_id)
            heapq.heappush(self._due, (start, command.play_id))

    def due(self, now: float) -> None:
        """Start and finish whatever has fallen due; fail an announced emergency whose audio
        never came by its end, as the real agenda does (``node_agent.agenda.Expired``)."""
        for play_id, until in list(self._alerts.items()):
            if play_id not in self._on_air or play_id in self._queued:
                del self._alerts[play_id]  # its audio came, or it was cut: over either way
            elif until < now:
                del self._alerts[play_id]
                self._on_air.discard(play_id)
                self._emit("failed", play_id, reason=ALERT_EXPIRED)
        while self._due and self._due[0][0] <= now:
            start, play_id = heapq.heappop(self._due)
            if play_id not in self._queued:
                continue  # cancelled
            self._queued.discard(play_id)
            if play_id not in self._on_air:
                self._emit("started", play_id, at=max(start, now))
            self._on_air.discard(play_id)
            self._emit("finished", play_id, at=time.time())

    def cancel(self, play_id: str, reason: str = "cancelled") -> str | None:
        if play_id in self._on_air:  # "playing": the player reports it, as the real one does
            self._on_air.discard(play_id)
            self._queued.discard(play_id)
            self._emit("cancelled", play_id, reason=reason, interrupted=True)
            return "playing"
        if play_id in self._queued:
            self._queued.discard(play_id)
            return "queued"
        return None

    def give_up(self, play_id: str, reason: str) -> None:
        self._on_air.discard(play_id)
        self._alerts.pop(play_id, None)

    def silence(self, reason: str) -> list[str]:
        cut = sorted(self._on_air)
        for play_id in cut:
            self.cancel(play_id, reason)
        return cut

    def play_tone(self, tone: Tone) -> str:
        return ""


class ReportingEvents(EventReporter):
    """The real reporter, which also tells the benchmark what each point did and when."""

    report: Report = staticmethod(lambda _line: None)

    def play(
        self,
        kind: PlayEventKind,
        play_id: str,
        *,
        reason: str = "",
        interrupted: bool = False,
        at: float | None = None,
    ) -> None:
        at = at if at is not None else time.time()
        super().play(kind, play_id, reason=reason, interrupted=interrupted, at=at)
        self.report({"node": self.node_id, "kind": kind, "play_id": play_id, "at": at})


class LightNode:
    def __init__(
        self, config: NodeConfig, inbox: queue.Queue[tuple[LightNode, mqtt_client.Link]]
    ) -> None:
        self.config, self.node_id = config, config.node_id
        self.connected = False
        self.received_at = 0.0  # of the message being handled
        self.report: Report = lambda _line: None
        self.store = NodeStore(config.data_dir / "node.sqlite3")
        cache = AudioCache(config.data_dir / "cache", config.min_free_bytes)
        self.session = mqtt_client.Session(
            client_id=config.node_id,
            username=config.node_id,
            password=config.broker_password,
            host=config.broker_host,
            port=config.broker_port,
            subscriptions=node_subscriptions(config.node_id),  # its shard's group commands too
            session_expiry_s=config.session_expiry_s,
            tls=config.broker_tls,  # as provisioned: the demo's nodes use the TLS listener
            ca_pem=config.broker_ca_pem,
            client_cert_pem=config.broker_client_cert_pem,
            client_key_pem=config.broker_client_key_pem,
            will=(
                node_topic(config.node_id, "state"),
                NodeState(node_id=config.node_id, status="offline").model_dump_json(),
            ),
        )
        self.client = mqtt_client.make_client(self.session, lambda item: inbox.put((self, item)))
        self.events = ReportingEvents(
            config.node_id,
            self.store,
            lambda topic, payload: self.client.publish(topic, payload, qos=1),
            online=lambda: self.connected,
        )
        self.fetcher = Fetcher(
            cache,
            self._request_chunk,
            config.chunk_size,
            config.chunk_timeout_s,
            listen=shared_chunks(self.client),
        )
        self.player = NullPlayer(self.events.play)
        player = cast(Player, self.player)  # node_agent types its player concretely
        self.bulletins = Bulletins(
            self.store, cache, self.fetcher, player, self.events, online=lambda: self.connected
        )
        self.controls = NodeControls(
            self.store,
            player,
            normal_gain=config.volume,
            emergency_gain=config.emergency_volume,
            on_volume=self.publish_state,
            on_silenced=self.bulletins.forget,
        )
        self.commands = CommandHandler(
            config.node_id,
            load_public_key(config.controller_public_key),
            PersistentReplayGuard(self.store),
            bulletins=self.bulletins,
            controls=self.controls,
            reporter=self.events,
            transaction=self.store.transaction,
        )
        self.last_state_at = 0.0
        on_play = self.bulletins.on_play

        def on_play_reported(command: PlayCommand) -> None:
            # when the signed command reached this point's socket, before any queueing here
            line = {"node": self.node_id, "kind": "command", "play_id": command.play_id}
            self.report({**line, "at": self.received_at})
            on_play(command)

        self.bulletins.on_play = on_play_reported  # type: ignore[method-assign]

    def start(self) -> None:
        """Set the session up; the process's one network loop connects and drives it."""
        mqtt_client.connect_async(self.client, self.session)

    def stop(self) -> None:
        self.store.close()

    def handle(self, item: mqtt_client.Link) -> None:
        match item:
            case mqtt_client.Connected():
                self.connected = True
                self.publish_state()
                self.events.flush(older_than=time.time())
                self.fetcher.resume_all()
                self.report({"node": self.node_id, "kind": "online", "at": time.time()})
            case mqtt_client.Disconnected() | mqtt_client.ConnectFailed():
                self.connected = False
            case mqtt_client.Incoming():
                self.received_at = item.received_at
                parsed = parse_node_topic(item.topic)
                if shared_content_sha(item.topic) is not None:
                    self.bulletins.on_content(item.topic, item.payload)
                elif parse_group_topic(item.topic) == group_shard(self.node_id):
                    self.commands.on_group_command(item.topic, item.payload)
                elif parsed is None or parsed[0] != self.node_id:
                    self.events.reject(item.topic, "message on a topic that is not this node's")
                elif parsed[1] == "cmd":
                    self.commands.on_command(item.topic, item.payload)
                elif parsed[1] == "content":
                    self.bulletins.on_content(item.topic, item.payload)
                elif parsed[1] == "ack" and not is_signed(item.payload):  # no clock check
                    self.events.on_ack(item.topic, item.payload)
        self.player.due(time.time())

    def tick(self) -> None:
        self.bulletins.check_deadlines(utcnow())
        if self.connected:
            self.client.unacknowledged()  # a lost PUBACK reconnects, as the agent does
            self.fetcher.tick()
            self.events.flush(older_than=time.time() - self.config.outbox_resend_s)
            if time.monotonic() - self.last_state_at >= self.config.heartbeat_s:
                self.publish_state()

    def publish_state(self) -> None:
        state = NodeState(
            node_id=self.node_id,
            status="online",
            agent_version="light",
            volume=self.controls.volume,
            capabilities=list(AGENT_CAPABILITIES),  # it reads its shard's group topic
        )
        self.last_state_at = time.monotonic()
        self.client.publish(
            node_topic(self.node_id, "state"), state.model_dump_json(), qos=1, retain=True
        )

    def _request_chunk(self, request: ChunkRequest) -> None:
        self.client.publish(
            node_topic(self.node_id, "content/req"),
            request.model_dump_json(),
            qos=1,
            properties=mqtt_client.expiring(60),
        )


def serve(configs: list[NodeConfig], report: Report, stop: threading.Event) -> None:
    """Run the points of ``configs`` until ``stop`` is set; one worker thread for all."""
    inbox: queue.Queue[tuple[LightNode, mqtt_client.Link]] = queue.Queue()
    nodes = [LightNode(c, inbox) for c in configs]
    for node in nodes:
        node.report = node.events.report = report
        node.start()
    network = NetworkLoop([node.client for node in nodes])
    network.start()
    last_tick = last_due = 0.0
    try:
        while not stop.is_set():
            try:
                node, item = inbox.get(timeout=0.1)
                node.handle(item)
            except queue.Empty:
                pass
            except Exception:  # one bad message must not stop the other points
                log.exception("error while handling a message")
            now = time.monotonic()
            if now - last_due >= 0.1:  # items scheduled for later
                last_due = now
                for node in nodes:
                    node.player.due(time.time())
            if now - last_tick >= 1.0:
                last_tick = now
                for node in nodes:
                    node.tick()
    finally:
        network.stop()
        for node in nodes:
            node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("configs", type=Path, nargs="+")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    configs = [NodeConfig.load(p) for p in args.configs]
    configs = [c.model_copy(update={"data_dir": args.data_root / c.node_id}) for c in configs]
    lines: list[str] = []
    lock = threading.Lock()

    def report(line: dict[str, object]) -> None:
        # Kept, not written: a write to the benchmark's pipe blocks this process's one worker
        # whenever the benchmark is slow to read, and then the points behind it in the queue
        # go on air late. Each line carries its own time, so writing it later changes nothing.
        with lock:
            lines.append(json.dumps(line) + "\n")

    def write_out() -> None:
        stopped = False
        while not stopped:
            stopped = stop.wait(0.05)
            with lock:
                out, lines[:] = "".join(lines), []
            if out:
                sys.stdout.write(out)
                sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    writer = threading.Thread(target=write_out, name="report-writer", daemon=True)
    writer.start()
    serve(configs, report, stop)
    writer.join()  # what the points reported last, written out too


if __name__ == "__main__":
    main()
