"""The node agent: wires the MQTT session, store, fetcher, player and handlers together.

Threads: paho's network thread (enqueue only), this module's worker (verifies, parses and acts
on every message, flushes the outbox, feeds systemd's watchdog: ``sdnotify``) and the player.
The worker routes each message by its channel: commands to ``commands``, audio to
``bulletins``, event acks to ``events``; node controls live in ``controls``.
``loa node --config FILE`` runs it.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import threading
import time
from pathlib import Path

from node_agent.blocks import Source
from node_agent.bulletins import Bulletins
from node_agent.cache import AudioCache
from node_agent.clock_check import ClockCheck
from node_agent.commands import CommandHandler
from node_agent.config import NodeConfig
from node_agent.controls import NodeControls
from node_agent.events import EventReporter
from node_agent.fetcher import Fetcher, shared_chunks
from node_agent.health import HealthSampler, HealthSources, wireless_signal_dbm
from node_agent.live import LiveSessions
from node_agent.player import Player
from node_agent.relay import AmplifierRelay, make_relay
from node_agent.release_start import RESTART_EXIT
from node_agent.sdnotify import Notifier
from node_agent.sinks import AudioSink, make_sink
from node_agent.store import NodeStore, PersistentReplayGuard
from node_agent.updates import Updater, UpdateSeams, install_root
from protocol import mqtt_client
from protocol.messages import AGENT_CAPABILITIES, ChunkRequest, NodeState, PlayCommand, utcnow
from protocol.signing import load_public_key
from protocol.timecheck import CLOCK_WRONG_S, NotAStateAckError, is_signed
from protocol.topics import (
    group_shard,
    node_subscriptions,
    node_topic,
    parse_group_topic,
    parse_node_topic,
    parse_stream_topic,
    shared_content_sha,
)

log = logging.getLogger(__name__)


def load_audio(path: Path, start: int = 0) -> Source:
    """A cached file opened to play from frame ``start``, decoded block by block as it plays:
    a node's memory must not grow with a bulletin's length (a Pi has 1 GB or less)."""
    from audio.decode_stream import open_stream

    return open_stream(path, start=start)


def configured_sink(config: NodeConfig) -> AudioSink:
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
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.notifier = notifier or Notifier()
        self.node_id = config.node_id
        self.shard = group_shard(config.node_id)
        self.inbox: queue.Queue[mqtt_client.Link] = queue.Queue()
        self.store = NodeStore(config.data_dir / "node.sqlite3")
        self.cache = AudioCache(config.data_dir / "cache", config.min_free_bytes)
        self.session = mqtt_client.Session(
            client_id=config.node_id,
            username=config.node_id,
            password=config.broker_password,
            host=config.broker_host,
            port=config.broker_port,
            subscriptions=node_subscriptions(config.node_id),
            session_expiry_s=config.session_expiry_s,
            tls=config.broker_tls,
            ca_pem=config.broker_ca_pem,
            client_cert_pem=config.broker_client_cert_pem,
            client_key_pem=config.broker_client_key_pem,
            will=(
                node_topic(config.node_id, "state"),
                NodeState(node_id=config.node_id, status="offline").model_dump_json(),
            ),
        )
        self.client = mqtt_client.make_client(self.session, self.inbox.put)
        self.connected = False
        self.clock = ClockCheck(config.node_id, load_public_key(config.controller_public_key))
        self.events = EventReporter(
            config.node_id,
            self.store,
            lambda topic, payload: self.client.publish(topic, payload, qos=1),
            online=lambda: self.connected,
            correction=self.clock.correction,
        )
        self.fetcher = Fetcher(
            self.cache,
            self._request_chunk,
            config.chunk_size,
            config.chunk_timeout_s,
            listen=shared_chunks(self.client),
        )
        self.updater = Updater(
            install_root(config.install_root, os.environ),
            config.data_dir,
            confirm_within_s=config.update_confirm_s,
            public_key=load_public_key(config.controller_public_key),
            cache=self.cache,
            fetcher=self.fetcher,
            reporter=self.events,
            seams=UpdateSeams(
                online=lambda: self.connected, busy=self._busy, restart=self._restart
            ),
        )
        self.exit_code = 0
        # Plays whose audio rotted before airing: the player's thread hands them here and the
        # agent's loop fetches them again (bulletins and the fetcher belong to that loop).
        self.damaged: queue.SimpleQueue[PlayCommand] = queue.SimpleQueue()
        self.player = Player(
            sink or configured_sink(config),
            relay or make_relay(config.relay.kind, **config.relay.options),
            audio_path=self.cache.path,
            load=load_audio,
            emit=self.events.play,
            on_playing=self._on_playing,
            preroll_s=config.relay.preroll_s,
            postroll_s=config.relay.postroll_s,
            intact=self.cache.has,  # removes a file that rotted: has() is False from then on
            damaged=self.damaged.put,
            hold=self.clock.hold,
        )
        self.bulletins = Bulletins(
            self.store,
            self.cache,
            self.fetcher,
            self.player,
            self.events,
            online=lambda: self.connected,
            fetched=self.updater.fetched,
            unfetchable=self.updater.unfetchable,
        )
        self.controls = NodeControls(
            self.store,
            self.player,
            normal_gain=config.volume,
            emergency_gain=config.emergency_volume,
            on_volume=self._publish_state,
            on_silenced=self.bulletins.forget,
        )
        self.live = LiveSessions(
            config.node_id,
            self.player,
            self.events,
            subscribe=self._subscribe_stream,
            unsubscribe=self._unsubscribe_stream,
            store=self.store,
        )
        self.commands = CommandHandler(
            config.node_id,
            load_public_key(config.controller_public_key),
            PersistentReplayGuard(self.store),
            bulletins=self.bulletins,
            controls=self.controls,
            reporter=self.events,
            updater=self.updater,
            live=self.live,
            now=self.clock.now,  # a command's expiry by the controller's time
            transaction=self.store.transaction,  # a command is one commit
        )
        self.health = HealthSampler(HealthSources(config.data_dir))
        self.on_air: str | None = None  # what the player last said it is playing
        self.last_state_at = 0.0  # monotonic time of the last state published
        self.offline_since: float | None = time.time()  # for the technician's status line
        self.refused: str | None = None  # why the broker last refused us, if it did
        self.stopping = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------
    def run(self) -> None:
        """Run until ``stopping`` is set (SIGTERM/SIGINT in ``main``)."""
        self.player.start()
        self.bulletins.restore()
        self.live.restore()
        self.updater.restore()
        mqtt_client.start(self.client, self.session)
        # Ready once the local programme plays, not once the broker answers: a point must air
        # what it holds with the 4G link down, and systemd would kill a unit that never starts.
        self.notifier.ready(self._status_line())
        wait_s = min(0.25, self.notifier.feed_every_s or 0.25)
        last_tick = 0.0
        try:
            while not self.stopping.is_set():
                self._alive()
                try:
                    self._handle(self.inbox.get(timeout=wait_s))
                except queue.Empty:
                    pass
                except Exception:  # one bad message must never stop the node
                    log.exception("error while handling a message")
                if time.monotonic() - last_tick >= 1.0:
                    last_tick = time.monotonic()
                    self._tick()
        finally:
            self._shutdown()

    def _alive(self) -> None:
        """Tell systemd this loop still turns. A player thread that died leaves a node that
        cannot speak: let the watchdog restart it rather than report a healthy agent."""
        if self.player.alive:
            self.notifier.feed()
        self.notifier.status(self._status_line())

    def _status_line(self) -> str:
        """What `systemctl status loa-node` shows a technician, in Vietnamese and English."""
        where = f"{self.config.broker_host}:{self.config.broker_port}"
        where += " TLS" if self.config.broker_tls else " (không mã hoá / no TLS)"
        if not self.connected:
            since = time.strftime("%H:%M:%S", time.localtime(self.offline_since or time.time()))
            why = f" refused us ({self.refused})" if self.refused else ""
            return (
                f"Mất kết nối / offline: broker {where}{why} since {since}; "
                "vẫn phát chương trình đã lưu / the stored programme still plays"
            )
        doing = f"đang phát / playing {self.on_air}" if self.on_air else "chờ / idle"
        if wrong := self.clock.wrong():
            doing += f"; đồng hồ sai, giữ lại bản tin hẹn giờ / {wrong}: timed items wait"
        return f"Trực tuyến / online: broker {where}; {doing}"

    def _shutdown(self) -> None:
        self.notifier.stopping("Đang dừng / stopping")
        self.live.close_all()
        self.player.stop()
        self.live.save_all()
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

    def _tick(self) -> None:
        while not self.damaged.empty():
            self.bulletins.refetch(self.damaged.get())
        self.bulletins.check_deadlines(self.clock.now())  # online or not: past its time, over
        stepped = self.clock.stepped()
        if stepped:  # measure again now, not at the next heartbeat
            log.warning("the wall clock jumped; offset now %s s", self.clock.offset_s())
        if self.connected:
            # a PUBACK the broker lost costs a place in paho's window until a reconnect, and a
            # full window would silence this point's reports (protocol.mqtt_client)
            self.client.unacknowledged()
            self.fetcher.tick()
            self.updater.tick()
            self.events.flush(older_than=time.time() - self.config.outbox_resend_s)
            # A heartbeat, so the controller's last-seen and clock offset stay fresh on a
            # node that plays nothing for days.
            if stepped or time.monotonic() - self.last_state_at >= self.config.heartbeat_s:
                self._publish_state()

    # --- dispatch -------------------------------------------------------------------------
    def _handle(self, item: mqtt_client.Link) -> None:
        match item:
            case mqtt_client.Connected():
                self.connected = True
                self.offline_since = None
                self.refused = None
                self._publish_state()
                for topic in self.live.topics():  # a broker that lost our session forgot them
                    self.client.subscribe(topic, qos=0)
                self.updater.on_online()
                self.events.flush(older_than=time.time())
                self.fetcher.resume_all()
            case mqtt_client.Disconnected() | mqtt_client.ConnectFailed():
                if self.connected:
                    self.offline_since = time.time()
                self.connected = False
                # a refusal (a replaced card's old password) is what a technician must see
                self.refused = item.reason if isinstance(item, mqtt_client.ConnectFailed) else None
            case mqtt_client.Incoming():
                self._on_message(item.topic, item.payload)

    def _on_message(self, topic: str, payload: bytes) -> None:
        stream_id = parse_stream_topic(topic)
        if stream_id is not None:
            self.live.on_packet(topic, stream_id, payload)
            return
        if shared_content_sha(topic) is not None:
            self.bulletins.on_content(topic, payload)  # chunks published once for all points
            return
        if parse_group_topic(topic) == self.shard:
            self.commands.on_group_command(topic, payload)  # a command to many points
            return
        parsed = parse_node_topic(topic)
        if parsed is None or parsed[0] != self.node_id:
            self.events.reject(topic, "message on a topic that is not this node's")
            return
        channel = parsed[1]
        if channel == "cmd":
            self.commands.on_command(topic, payload)
        elif channel == "content":
            self.bulletins.on_content(topic, payload)
        elif channel == "ack":
            self._on_ack(topic, payload)

    def _on_ack(self, topic: str, payload: bytes) -> None:
        """Event acks, and the controller's signed answers to states (clock measurements)."""
        if not is_signed(payload):
            self.events.on_ack(topic, payload)
            return
        try:
            offset = self.clock.take(payload)
        except NotAStateAckError as exc:
            self.events.reject(topic, str(exc))
            return
        if offset is not None and abs(offset) > CLOCK_WRONG_S:
            log.warning("clock wrong: %s; items due at a set time wait", self.clock.wrong())

    # --- updates --------------------------------------------------------------------------
    def _busy(self) -> str:
        """Why a restart must wait: something on air, or an emergency still to play."""
        if self.on_air:
            return f"{self.on_air} is on air"
        now = utcnow()
        for row in self.store.open_plays():
            if row.command.priority == "emergency" and row.command.valid_until > now:
                return f"emergency {row.command.play_id} is still to play"
        return ""

    def _restart(self) -> None:
        self.exit_code = RESTART_EXIT
        self.stopping.set()

    # --- outgoing -------------------------------------------------------------------------
    def _request_chunk(self, request: ChunkRequest) -> None:
        self.client.publish(
            node_topic(self.node_id, "content/req"),
            request.model_dump_json(),
            qos=1,
            properties=mqtt_client.expiring(60),
        )

    def _subscribe_stream(self, topic: str) -> None:
        # QoS 0: a live packet late is a packet lost, and the broker must not queue them
        self.client.subscribe(topic, qos=0)

    def _unsubscribe_stream(self, topic: str) -> None:
        self.client.unsubscribe(topic)

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
            agent_version=self.updater.version,
            cache_bytes=self.cache.total_bytes(),
            free_bytes=shutil.disk_usage(self.cache.root).free,
            volume=self.controls.volume,
            signal_dbm=wireless_signal_dbm(),
            health=self.health.sample(),
            capabilities=list(AGENT_CAPABILITIES),
        )
        self.last_state_at = time.monotonic()
        self.clock.sent(state.at)
        self.client.publish(
            node_topic(self.node_id, "state"), state.model_dump_json(), qos=1, retain=True
        )


def main(config_path: Path) -> int:
    config = NodeConfig.load(config_path).under_systemd(os.environ)
    agent = NodeAgent(config)

    def stop(_sig: int, _frame: object) -> None:
        agent.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "node %s starting, broker %s:%s", config.node_id, config.broker_host, config.broker_port
    )
    agent.run()
    return agent.exit_code
