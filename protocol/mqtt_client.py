"""One way to open an MQTT 5 session with paho-mqtt 2, for the controller and the nodes alike.

paho's network thread only enqueues: every callback here hands one typed ``Link`` item to the
owner's inbox and returns, so a slow handler can never stall keep-alives or acknowledgements.

The client also notices an acknowledgement that never comes (:class:`Client`). Debian 12's
Mosquitto 2.0.11 loses the PUBACKs it sends a client once that client's outgoing queue has
overflowed (it logs "Sending PUBACK" and the client never reads one: reproduced in
``tests/protocol/test_lost_acknowledgements.py``; at 1,000 points under load it struck the
controller and hundreds of points). paho keeps such a message, and a place in its in-flight
window (the broker's 100), until a new connection, the only time MQTT sends a message again:
the controller held back every audio piece behind one of them, and a point whose window filled
up sent nothing more, its play reports included.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import ssl
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers
from paho.mqtt.reasoncodes import ReasonCode

from protocol.limits import BROKER_MAX_INFLIGHT_MESSAGES

log = logging.getLogger(__name__)
# Far above a PUBACK's round trip through a loaded broker (well under a second at 1,000
# points), within a node's 10 s re-ask and the 60 s expiry of what it asks for.
ACK_LOST_S = 15.0
# For a point, each reconnection for a lost acknowledgement doubles the wait on the next
# connections, up to this; a connection that lasts this long with nothing lost brings it back
# to ACK_LOST_S. A broker so overloaded that its acknowledgements take longer than the wait
# (5,000 points on two cores) is not to be reconnected by thousands of points every 15 s: each
# reconnection is a TLS handshake and a session resent, which adds to the load that made them
# late (BENCHMARKS.md, "5,000 and 10,000 points"). The controller, one client whose every
# message waits behind a lost one, keeps ACK_LOST_S (``make_client(..., ack_backoff=False)``).
ACK_LOST_MAX_S = 240.0

# The most of a received PUBLISH's MQTT 5 properties that is read. Nothing of ours reads them,
# and what the project sends is a message expiry (5 bytes), to which the broker may add a few.
# paho parses them in Python before any handler sees the message, copying what is left of the
# block for each property: 250 KB of empty user properties (50,000 of them; the broker
# forwards them) took 5 s of the network thread's time. A node's account sending such messages
# on its own topics held every other point's reports and chunk requests behind them in the
# controller's reading session: a command to another point was acknowledged after 73 s
# instead of 0.3 s, and the per-node rate limit, which counts a message only once paho has
# handed it over, could not help. A longer block is skipped unread (the payload is kept).
MAX_PUBLISH_PROPERTIES_BYTES = 64
_paho_unpack = Properties.unpack


def _unpack_bounded(self: Properties, buffer: bytes) -> tuple[Properties, int]:
    """paho's ``Properties.unpack``, except that a PUBLISH's block longer than
    ``MAX_PUBLISH_PROPERTIES_BYTES`` is skipped: returned empty, with its true length."""
    if self.packetType == PacketTypes.PUBLISH:
        length, used = VariableByteIntegers.decode(buffer)  # type: ignore[no-untyped-call]
        if length > MAX_PUBLISH_PROPERTIES_BYTES:
            self.clear()  # type: ignore[no-untyped-call]
            return self, length + used
    unpacked: tuple[Properties, int] = _paho_unpack(self, buffer)  # type: ignore[no-untyped-call]
    return unpacked


# Every client of the project (controller, agent, light harness) comes through this module.
Properties.unpack = _unpack_bounded  # type: ignore[method-assign]


class Incoming(NamedTuple):
    """A received message."""

    topic: str
    payload: bytes
    retained: bool  # the broker's stored copy, sent on subscribing: not news from the sender
    received_at: float  # time.time() on arrival, before any wait in the inbox


@dataclass(frozen=True)
class Connected:
    """The broker accepted the session (at start or after a reconnect)."""


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class ConnectFailed:
    """The broker refused the session (bad credentials, not authorised)."""

    reason: str


# What the link reports, in order, to whoever owns the session.
Link = Incoming | Connected | Disconnected | ConnectFailed


@dataclass(frozen=True)
class Session:
    client_id: str  # the project's broker replaces it with ``username``: use that
    username: str
    password: str
    host: str
    port: int
    subscriptions: tuple[str, ...]
    session_expiry_s: int
    tls: bool = False
    # PEM of the CA that signed the broker's certificate (the commune's own); None: the system's
    # CAs. The host name is verified against the certificate either way.
    ca_pem: str | None = None
    # The client certificate and key (PEM) a broker that requires one gets; None: none sent.
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    will: tuple[str, str] | None = None  # (topic, payload), published retained
    # paho refuses a QoS 1 publish (MQTT_ERR_QUEUE_SIZE) once this many await the broker
    max_queued: int = 1000
    # QoS 1 publishes sent before the broker's PUBACKs: its announced Receive Maximum
    max_inflight: int = BROKER_MAX_INFLIGHT_MESSAGES
    # MQTT 5 Receive Maximum: what the broker may send unacknowledged; None leaves the broker's
    # own default (the controller, which reads every node, asks for the protocol's largest)
    receive_maximum: int | None = None
    # filters this session leaves on each connection: a persistent session of an earlier
    # release may still hold them, and the broker would keep queueing for it
    unsubscriptions: tuple[str, ...] = ()


class Client(mqtt.Client):
    """paho's client, which notes when each QoS 1 or 2 message was handed to it while connected,
    so that one never acknowledged can be noticed (the module's docstring) and sent again."""

    def __init__(
        self,
        client_id: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        ack_backoff: bool = True,
    ) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self._clock = clock
        self.ack_backoff = ack_backoff  # see ACK_LOST_MAX_S
        # oldest first, until acknowledged; taken while the link is down (NO_CONN), a message
        # is sent on the next connection and not counted
        self._handed: deque[tuple[float, mqtt.MQTTMessageInfo]] = deque()
        # paho sends what waits again on each new connection: its wait starts again then
        self._connected_at = clock()
        self._acked_at = clock()  # when the oldest message last moved on: the broker's progress
        self._reconnections = 0  # for lost acknowledgements, since a connection lasted
        self._dropping = False  # this connection is being dropped: nothing more to judge on it
        self.acks_lost = 0  # acknowledgements taken as lost since start

    def publish(
        self,
        topic: str,
        payload: mqtt.PayloadType = None,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> mqtt.MQTTMessageInfo:
        info = super().publish(topic, payload, qos, retain, properties)
        if qos > 0 and info.rc == mqtt.MQTT_ERR_SUCCESS:
            self._handed.append((self._clock(), info))
        return info

    def ack_wait(self) -> float:
        """How long a message may wait for its acknowledgement on this connection."""
        if not self.ack_backoff:
            return ACK_LOST_S
        return min(ACK_LOST_S * float(2**self._reconnections), ACK_LOST_MAX_S)

    def unacknowledged(self) -> int:
        """Messages handed over and not yet acknowledged by the broker: an upper bound, as the
        broker acknowledges in order and one acknowledged out of order counts until those
        before it are. One waiting :meth:`ack_wait` on a connection is taken as lost if the
        broker has since acknowledged one handed over after it, or nothing at all for as long:
        the connection is dropped, so that paho reconnects with the session and sends it
        again, and its copy is judged on the new connection like any message (while the link
        is down nothing is judged: a point's 4G outage loses nothing). One that waited as long
        in paho's queue, behind a window the broker keeps moving, is not lost but late: 5,000
        points' acknowledgements and state answers are minutes of the controller's window,
        and reconnecting for them every ``ACK_LOST_S`` kept its audio from ever leaving
        (BENCHMARKS.md, "5,000 points"). Call it now and then from one thread (the owner's
        worker): it also forgets what was acknowledged."""
        now, lost = self._clock(), 0
        judged = self.is_connected() and not self._dropping
        since = self._connected_at
        if judged and now - since >= ACK_LOST_MAX_S:
            self._reconnections = 0  # this connection has held: the next loss waits the least
        wait = self.ack_wait()
        while self._handed and self._handed[0][1].is_published():
            self._handed.popleft()
            self._acked_at = now
        if judged and self._handed and now - max(self._handed[0][0], since) >= wait:
            # paho sends in order and the broker acknowledges in order, so one acknowledged
            # behind the oldest proves the oldest's acknowledgement lost; only the window's
            # first messages can have been sent since the oldest was
            window = itertools.islice(self._handed, 1, self.max_inflight_messages + 1)
            skipped = any(info.is_published() for _, info in window)
            if skipped or now - max(self._acked_at, since) >= wait:
                # oldest first: the ones handed over after the first still waiting waited less
                for handed, info in self._handed:
                    if now - max(handed, since) < wait:
                        break
                    lost += not info.is_published()
        if lost:
            self.acks_lost += lost
            self._reconnections += 1
            log.error(
                "%s: the broker's acknowledgement of %d message(s) has not come in %.0f s: "
                "reconnecting so that they are sent again (the next wait: %.0f s)",
                self._client_id.decode(errors="replace"),
                lost,
                wait,
                self.ack_wait(),
            )
            self._dropping = True
            drop_connection(self)
        return len(self._handed)

    def connected_now(self) -> None:
        """The broker took a new connection (from its on_connect, on paho's thread)."""
        self._connected_at = self._clock()
        self._dropping = False


def make_client(
    session: Session,
    deliver: Callable[[Link], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    ack_backoff: bool = True,
) -> Client:
    """A paho client for ``session`` whose callbacks only ``deliver`` what happened;
    ``clock`` times the acknowledgements (tests move it); ``ack_backoff``: see
    :data:`ACK_LOST_MAX_S`."""
    client = Client(session.client_id, clock=clock, ack_backoff=ack_backoff)
    client.username_pw_set(session.username, session.password)
    if session.tls:
        client.tls_set_context(
            tls_context(session.ca_pem, session.client_cert_pem, session.client_key_pem)
        )
    if session.will:
        client.will_set(session.will[0], session.will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_queued_messages_set(session.max_queued)
    # the broker's Receive Maximum, which paho does not read from the CONNACK (protocol.limits)
    client.max_inflight_messages_set(session.max_inflight)

    def on_connect(c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            log.error("broker refused the connection of %s: %s", session.client_id, rc)
            deliver(ConnectFailed(str(rc)))
            return
        client.connected_now()
        if session.subscriptions:  # paho refuses an empty list
            c.subscribe([(topic, 1) for topic in session.subscriptions])
        if session.unsubscriptions:
            c.unsubscribe(list(session.unsubscriptions))
        deliver(Connected())

    def on_disconnect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        deliver(Disconnected(str(rc)))

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        deliver(Incoming(msg.topic, bytes(msg.payload), msg.retain, time.time()))

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    return client


def tls_context(
    ca_pem: str | None, cert_pem: str | None = None, key_pem: str | None = None
) -> ssl.SSLContext:
    """Verify the broker's certificate and host name; TLS 1.2 at least, like the broker; and
    present ``cert_pem`` (with ``key_pem``) to a broker that asks for a client certificate."""
    context = ssl.create_default_context(cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_pem and key_pem:
        # ssl loads a certificate chain from a file only: a private one, gone once read.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "client.pem"
            path.touch(mode=0o600)
            path.write_text(cert_pem + key_pem)
            context.load_cert_chain(path)
    return context


def start(client: mqtt.Client, session: Session) -> None:
    """Connect in the background (the broker may be down now) with a persistent session."""
    connect_async(client, session)
    client.loop_start()


def drop_connection(client: mqtt.Client) -> None:
    """Close ``client``'s socket under its network loop, which then reconnects (with the
    persistent session) as after any connection lost."""
    sock = client.socket()
    if isinstance(sock, socket.socket):  # an ssl.SSLSocket is one too
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def connect_async(client: mqtt.Client, session: Session) -> None:
    """Set ``client`` up to connect with ``session``'s persistent session, for a network loop
    that runs it: paho's own thread (:func:`start`) or one shared by many clients."""
    client.connect_async(
        session.host,
        session.port,
        keepalive=30,
        clean_start=False,
        properties=connect_properties(session),
    )


def connect_properties(session: Session) -> Properties:
    """The CONNECT properties of ``session``: its expiry and, if set, its Receive Maximum."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session.session_expiry_s
    if session.receive_maximum is not None:
        props.ReceiveMaximum = session.receive_maximum
    return props


def expiring(seconds: int) -> Properties:
    """PUBLISH properties that let the broker drop a time-bound message nobody fetched."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.MessageExpiryInterval = seconds
    return props
