"""MQTT 5 packets written by hand, as an attacker's script would send them: paho takes seconds
to write what the hostile tests send, and keeps a client to the rules they must be free to
break (a window of its own choosing, a socket never read)."""

from __future__ import annotations

import socket
import struct

CONNECT, PUBLISH_QOS0, SUBSCRIBE = 0x10, 0x30, 0x82


def varint(n: int) -> bytes:
    """MQTT's variable byte integer."""
    out = b""
    while True:
        n, digit = divmod(n, 128)
        out += bytes([digit | (0x80 if n else 0)])
        if not n:
            return out


def text(value: str) -> bytes:
    """MQTT's UTF-8 string: its length in two bytes, then the bytes."""
    raw = value.encode()
    return struct.pack(">H", len(raw)) + raw


def packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + varint(len(body)) + body


def connect(port: int, user: str, password: str, properties: bytes = b"") -> socket.socket:
    """A clean MQTT 5 session on 127.0.0.1 (client id = user), after the first byte of its
    CONNACK; the rest of the broker's answers are never read."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = text("MQTT") + b"\x05\xc2" + struct.pack(">H", 60) + varint(len(properties))
    sock.sendall(packet(CONNECT, head + properties + text(user) + text(user) + text(password)))
    assert sock.recv(1) == b"\x20"  # CONNACK
    return sock
