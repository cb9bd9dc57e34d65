"""The ports the demo and the tests give their servers cannot be taken by an outgoing
connection between choosing and binding: they lie below the kernel's ephemeral range."""

from __future__ import annotations

import socket
from pathlib import Path

from controller.nodes.broker import free_port


def test_a_free_port_lies_below_the_ephemeral_range_and_can_be_bound() -> None:
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(1024 <= p < first_ephemeral for p in ports)
    assert len(ports) > 1  # chosen at random, not one port for every caller
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))
