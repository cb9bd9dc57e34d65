"""One way to open an MQTT 5 session with paho-mqtt 2, for the controller and the nodes alike.

paho's network thread only enqueues: every callback here hands one typed ``Link`` item to the
owner's inbox and returns, so a slow handler can never stall keep-alives or acknowledgements.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from protocol.limits import BROKER_MAX_INFLIGHT_MESSAGES

log = logging.getLogger(__name__)


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


def make_client(session: Session, deliver: Callable[[Link], None]) -> mqtt.Client:
    """A paho client for ``session`` whose callbacks only ``deliver`` what happened."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=session.client_id, protocol=mqtt.MQTTv5
    )
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
        c.subscribe([(topic, 1) for topic in session.subscriptions])
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
