"""Can this node log in to its broker? A real MQTT 5 connect with the node's own credentials
and TLS settings, for ``loa node selftest``.

The broker names a session after its user (``use_username_as_clientid``), so this connection
takes over the running agent's session for a moment: it resumes the session rather than
clearing it, keeps its expiry, and acknowledges nothing (``manual_ack``), so whatever the broker
holds for the node stays queued for the agent, which reconnects within seconds.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from node_agent.config import NodeConfig
from protocol.mqtt_client import tls_context

# What a refusal means, in the order the broker's answer is matched against it.
REFUSED = "refused"
UNREACHABLE = "unreachable"
CERTIFICATE = "certificate"


@dataclass(frozen=True)
class BrokerLogin:
    ok: bool
    problem: str = ""  # REFUSED, UNREACHABLE or CERTIFICATE when not ok
    detail: str = ""  # the broker's or the network's own words


def try_login(config: NodeConfig, timeout_s: float = 10.0) -> BrokerLogin:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=config.node_id,
        protocol=mqtt.MQTTv5,
        manual_ack=True,
        reconnect_on_failure=False,
    )
    client.username_pw_set(config.node_id, config.broker_password)
    if config.broker_tls:
        client.tls_set_context(tls_context(config.broker_ca_pem))
    answered = threading.Event()
    answer: list[ReasonCode] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        answer.append(rc)
        answered.set()

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = config.session_expiry_s
    try:
        client.connect(
            config.broker_host,
            config.broker_port,
            keepalive=30,
            clean_start=False,
            properties=props,
        )
    except ssl.SSLCertVerificationError as exc:
        return BrokerLogin(False, CERTIFICATE, exc.verify_message or str(exc))
    except (OSError, ssl.SSLError) as exc:  # refused, no route, DNS, timeout, TLS handshake
        return BrokerLogin(False, UNREACHABLE, str(exc) or type(exc).__name__)
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            return BrokerLogin(False, UNREACHABLE, f"no answer within {timeout_s:.0f} s")
        rc = answer[0]
        if rc.is_failure:
            return BrokerLogin(False, REFUSED, str(rc))
        return BrokerLogin(True)
    finally:
        client.disconnect()
        client.loop_stop()
