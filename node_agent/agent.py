"""The node agent: wires the MQTT session, verifier, store, fetcher and player together.

Threads: paho's network thread (enqueue only), this module's worker (verifies, parses and acts
on every message, flushes the outbox) and the player. ``loa node --config FILE`` runs it.
"""

from __future__ import annotations

import logging
import queue
import shutil
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from node_agent.attention import RATE as TONE_RATE
from node_agent.attention import make_test_tone
from node_agent.cache import AudioCache, CacheError
from node_agent.config import NodeConfig
from node_agent.fetcher import Fetcher
from node_agent.health import wireless_signal_dbm
from node_agent.player import Player, Tone, Volumes, volume_gain
from node_agent.relay import AmplifierRelay, make_relay
from node_agent.sinks import AudioSink, make_sink
from node_agent.store import NodeStore, PersistentReplayGuard
from protocol import mqtt_client
from protocol.messages import (
    CONTENT_ADAPTER,
    CancelCommand,
    ChunkRequest,
    CommandAck,
    CommandBody,
    ControlCommand,
    EventAck,
    NodeState,
    PlayCommand,
    PlayEvent,
    PlayEventKind,
    RejectedPayload,
    SetVolumeCommand,
    StopCommand,
    TestToneCommand,
    utcnow,
)
from protocol.signing import CommandRejectedError, load_public_key, verify_envelope
from protocol.topics import TO_NODE, node_topic, parse_node_topic

log = logging.getLogger(__name__)
AGENT_VERSION = "0.1.0"
FULL_VOLUME = 100  # until a technician sets one: the provisioned gain as it is


def load_audio(path: Path) -> tuple[np.ndarray, int]:
    from audio.decode import decode_file

    decoded = decode_file(path)
    return decoded.samples, decoded.sample_rate


def _configured_sink(config: NodeConfig) -> AudioSink:
    options = {"fade_s": config.sink.fade_s, **config.sink.options}
    if config.sink.kind == "wav":
        options.setdefault("directory", config.data_dir / "played")
        options["directory"] = Path(options["directory"])
    return make_sink(config.sink.kind, **options)


class NodeAgent:
    def __init__(
        self,
        config: NodeConfig,
        *,
        sink: AudioSink | None = None,
        relay: AmplifierRelay | None = None,
    ) -> None:
        self.config = config
        self.node_id = config.node_id
        self.inbox: mqtt_client.Inbox = queue.Queue()
        self.store = NodeStore(config.data_dir / "node.sqlite3")
        self.guard = PersistentReplayGuard(self.store)
        self.public_key = load_public_key(config.controller_public_key)
        self.cache = AudioCache(config.data_dir / "cache", config.min_free_bytes)
        self.session = mqtt_client.Session(
            client_id=config.node_id,
            username=config.node_id,
            password=config.broker_password,
            host=config.broker_host,
            port=config.broker_port,
            subscriptions=tuple(node_topic(config.node_id, ch) for ch in TO_NODE),
            session_expiry_s=config.session_expiry_s,
            tls=config.broker_tls,
            will=(
                node_topic(config.node_id, "state"),
                NodeState(node_id=config.node_id, status="offline").model_dump_json(),
            ),
        )
        self.client = mqtt_client.make_client(self.session, self.inbox)
        self.connected = False
        self.fetcher = Fetcher(
            self.cache, self._request_chunk, config.chunk_size, config.chunk_timeout_s
        )
        self.player = Player(
            sink or _configured_sink(config),
            relay or make_relay(config.relay.kind, **config.relay.options),
            audio_path=self.cache.path,
            load=load_audio,
            emit=self._emit_play,
            on_playing=self._on_playing,
            preroll_s=config.relay.preroll_s,
            postroll_s=config.relay.postroll_s,
        )
        stored = self.store.volume()
        self.volume = stored[0] if stored else FULL_VOLUME
        self._apply_volume()
        self.on_air: str | None = None  # what the player last said it is playing
        self.last_state_at = 0.0  # monotonic time of the last state published
        self.waiting: dict[str, set[str]] = {}  # sha256 -> play ids waiting for that audio
        self.stopping = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------
    def run(self) -> None:
        """Run until ``stopping`` is set (SIGTERM/SIGINT in ``main``)."""
        self.player.start()
        self._restore_schedule()
        mqtt_client.start(self.client, self.session)
        last_tick = 0.0
        try:
            while not self.stopping.is_set():
                try:
                    kind, data = self.inbox.get(timeout=0.25)
                    self._handle(kind, data)
                except queue.Empty:
                    pass
                except Exception:  # one bad message must never stop the node
                    log.exception("error while handling a message")
                if time.monotonic() - last_tick >= 1.0:
                    last_tick = time.monotonic()
                    self._tick()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self.player.stop()
        if self.connected:
            info = self.client.publish(
                node_topic(self.node_id, "state"),
                NodeState(node_id=self.node_id, status="offline").model_dump_json(),
                qos=1,
                retain=True,
            )
            info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()

    def _restore_schedule(self) -> None:
        for row in self.store.open_plays():
            self._prepare(row.command)

    def _tick(self) -> None:
        if self.connected:
            self.fetcher.tick()
            self._flush_outbox(older_than=time.time() - self.config.outbox_resend_s)
            # A heartbeat, so the controller's last-seen and clock offset stay fresh on a
            # node that plays nothing for days.
            if time.monotonic() - self.last_state_at >= self.config.heartbeat_s:
                self._publish_state()

    # --- dispatch -------------------------------------------------------------------------
    def _handle(self, kind: str, data: Any) -> None:
        if kind == "connected":
            self.connected = True
            self._publish_state()
            self._flush_outbox(older_than=time.time())
            self.fetcher.resume_all()
        elif kind == "disconnected":
            self.connected = False
        elif kind == "message":
            self._on_message(data.topic, data.payload)

    def _on_message(self, topic: str, payload: bytes) -> None:
        parsed = parse_node_topic(topic)
        if parsed is None or parsed[0] != self.node_id:
            self._reject(topic, "message on a topic that is not this node's")
            return
        channel = parsed[1]
        if channel == "cmd":
            self._on_command(topic, payload)
        elif channel == "content":
            self._on_content(topic, payload)
        elif channel == "ack":
            try:
                self.store.ack_events(EventAck.model_validate_json(payload).event_ids)
            except ValidationError as exc:
                self._reject(topic, f"malformed event ack: {exc.errors()[0]['msg']}")

    def _on_command(self, topic: str, payload: bytes) -> None:
        try:
            verified = verify_envelope(payload, self.public_key, self.node_id, self.guard)
        except CommandRejectedError as exc:
            self._reject(topic, str(exc))
            if exc.command_id:
                self._emit(
                    CommandAck(
                        node_id=self.node_id,
                        command_id=exc.command_id,
                        accepted=False,
                        reason=str(exc),
                    )
                )
            return
        body = verified.body
        # Acting is idempotent (a play is stored once by its id, a cancel of what is gone does
        # nothing), so a resend of a command whose nonce was saved just before a crash, but
        # which was never acted on, is carried out now rather than lost as a "duplicate".
        command = body.command
        refusal = ""
        if isinstance(command, PlayCommand):
            if self.store.add_play(command):
                self._emit_play("received", command.play_id)
                self._prepare(command)
        elif isinstance(command, CancelCommand):
            self._cancel(command)
        else:
            refusal = self._control_once(body, command)
        self._emit(
            CommandAck(
                node_id=self.node_id,
                command_id=body.command_id,
                accepted=not refusal,
                reason=refusal,
            )
        )

    def _on_content(self, topic: str, payload: bytes) -> None:
        try:
            msg = CONTENT_ADAPTER.validate_json(payload)
        except ValidationError as exc:
            self._reject(topic, f"malformed content message: {exc.errors()[0]['msg']}")
            return
        if msg.type == "chunk_unavailable":
            reason = self.fetcher.on_unavailable(msg)
            if reason is not None:
                self._fail_waiting(msg.sha256, f"controller cannot serve the audio: {reason}")
            return
        try:
            done = self.fetcher.on_chunk(msg)
        except CacheError as exc:
            self._fail_waiting(msg.sha256, str(exc))
            return
        if done:
            for bid in sorted(self.waiting.pop(done, set())):
                self._ready(bid)

    # --- control commands ------------------------------------------------------------------
    def _control_once(self, body: CommandBody, command: ControlCommand) -> str:
        """Carry out a control command once; a resend gets the first answer again. Acting
        twice is not harmless here: a second stop would cut what started since the first, a
        second tone would sound again, a late volume would undo a newer one."""
        done = self.store.command_outcome(body.command_id)
        if done is not None:
            return "" if done[0] else done[1]
        if isinstance(command, SetVolumeCommand):
            refusal = self._set_volume(command.volume, body.issued_at)
        elif isinstance(command, TestToneCommand):
            refusal = self.player.play_tone(
                Tone(
                    f"test-tone.{body.command_id}",
                    make_test_tone(command.seconds, TONE_RATE),
                    TONE_RATE,
                )
            )
        else:
            refusal = self._stop(command)
        self.store.remember_outcome(body.command_id, body.expires_at, not refusal, refusal)
        if refusal:
            log.warning("refused command %s: %s", body.command_id, refusal)
        return refusal

    def _set_volume(self, volume: int, issued_at: datetime) -> str:
        stored = self.store.volume()
        if stored is not None and stored[1] > issued_at:
            return f"a newer volume ({stored[0]}, set {stored[1].isoformat()}) is in force"
        self.store.set_volume(volume, issued_at)
        self.volume = volume
        self._apply_volume()
        self._publish_state()
        return ""

    def _apply_volume(self) -> None:
        # The provisioned gain is the installation's full volume; the technician's setting
        # scales it. Emergencies keep their own provisioned gain whatever the setting.
        self.player.volumes = Volumes(
            self.config.volume * volume_gain(self.volume), self.config.emergency_volume
        )

    def _stop(self, command: StopCommand) -> str:
        reason = command.reason or "stopped by operator"
        for play_id in self.player.silence(reason):
            for waiting in self.waiting.values():
                waiting.discard(play_id)
        return ""

    # --- bulletins ------------------------------------------------------------------------
    def _prepare(self, command: PlayCommand) -> None:
        sha = command.audio.sha256
        if self.cache.has(sha):
            self._ready(command.play_id)
            return
        self.waiting.setdefault(sha, set()).add(command.play_id)
        due_now = command.play_at is None or command.play_at <= utcnow() + timedelta(seconds=5)
        if command.priority == "emergency" and due_now:
            self.player.announce_emergency(command)  # on air now, while the audio loads
        try:
            self.fetcher.want(sha, command.audio.size, online=self.connected)
        except CacheError as exc:
            self._fail_waiting(sha, str(exc))

    def _ready(self, play_id: str) -> None:
        row = self.store.play(play_id)
        if row is None or row.state not in ("pending", "ready", "playing"):
            return
        if row.state == "pending":
            self.store.set_play_state(play_id, "ready")
            self._emit_play("ready", play_id)
        self.player.add(row.command)

    def _fail_waiting(self, sha256: str, reason: str) -> None:
        self.fetcher.active.pop(sha256, None)
        for bid in sorted(self.waiting.pop(sha256, set())):
            self._emit_play("failed", bid, reason=reason)

    def _cancel(self, command: CancelCommand) -> None:
        for play_id in command.play_ids:
            row = self.store.play(play_id)
            if row is None or row.state in ("done", "failed", "cancelled"):
                continue
            for waiting in self.waiting.values():
                waiting.discard(play_id)
            if self.player.cancel(play_id) != "playing":  # a playing item reports itself
                self._emit_play("cancelled", play_id, reason=command.reason or "cancelled")

    # --- outgoing -------------------------------------------------------------------------
    def _emit_play(
        self,
        kind: PlayEventKind,
        play_id: str,
        *,
        reason: str = "",
        interrupted: bool = False,
        at: float | None = None,
    ) -> None:
        state = {
            "started": "playing",
            "interrupted": "ready",  # back in the player's queue; a restart plays it again
            "finished": "done",
            "failed": "failed",
            "cancelled": "cancelled",
        }.get(kind)
        if state:
            self.store.set_play_state(play_id, state, reason)
        when = datetime.fromtimestamp(at, UTC) if at is not None else datetime.now(UTC)
        self._emit(
            PlayEvent(
                node_id=self.node_id,
                type=kind,
                play_id=play_id,
                reason=reason,
                interrupted=interrupted,
                at=when,
            )
        )
        if kind == "failed":
            log.warning("bulletin %s failed: %s", play_id, reason)

    def _emit(self, event: CommandAck | PlayEvent | RejectedPayload) -> None:
        """Every event goes through the durable outbox first, then out if we are online."""
        payload = event.model_dump_json().encode()
        self.store.add_event(event.event_id, payload)
        if self.connected:
            self._publish_events([(event.event_id, payload)])

    def _flush_outbox(self, older_than: float) -> None:
        while batch := self.store.due_events(older_than):
            self._publish_events(batch)
            if len(batch) < 100:
                break

    def _publish_events(self, batch: list[tuple[str, bytes]]) -> None:
        topic = node_topic(self.node_id, "events")
        for _, payload in batch:
            self.client.publish(topic, payload, qos=1)
        self.store.mark_sent([e for e, _ in batch], time.time())

    def _reject(self, topic: str, reason: str) -> None:
        log.warning("rejected a message on %s: %s", topic, reason)
        self._emit(RejectedPayload(node_id=self.node_id, topic=topic, reason=reason))

    def _request_chunk(self, request: ChunkRequest) -> None:
        self.client.publish(
            node_topic(self.node_id, "content/req"),
            request.model_dump_json(),
            qos=1,
            properties=mqtt_client.expiring(60),
        )

    def _on_playing(self, playing: str | None) -> None:
        self.on_air = playing
        self._publish_state()

    def _publish_state(self) -> None:
        """Called from the worker and from the player's report thread; paho is thread-safe."""
        playing = self.on_air
        state = NodeState(
            node_id=self.node_id,
            status="playing" if playing else "online",
            play_id=playing,
            agent_version=AGENT_VERSION,
            cache_bytes=self.cache.total_bytes(),
            free_bytes=shutil.disk_usage(self.cache.root).free,
            volume=self.volume,
            signal_dbm=wireless_signal_dbm(),
        )
        self.last_state_at = time.monotonic()
        self.client.publish(
            node_topic(self.node_id, "state"), state.model_dump_json(), qos=1, retain=True
        )


def main(config_path: Path) -> int:
    config = NodeConfig.load(config_path)
    agent = NodeAgent(config)

    def stop(_sig: int, _frame: object) -> None:
        agent.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "node %s starting, broker %s:%s", config.node_id, config.broker_host, config.broker_port
    )
    agent.run()
    return 0
