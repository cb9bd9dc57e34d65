"""The ports the demo and the tests give their servers cannot be taken by an outgoing
connection between choosing and binding: they lie below the kernel's ephemeral range."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from controller.nodes import broker
from controller.nodes.broker import free_port


def test_a_free_port_lies_below_the_ephemeral_range_and_can_be_bound() -> None:
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(1024 <= p < first_ephemeral for p in ports)
    assert len(ports) > 1  # chosen at random, not one port for every caller
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))


def test_one_port_is_never_handed_out_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two servers about to start (a system's HTTP and MQTT ports) never get one port: the
    first has not bound it yet when the second asks."""
    first, second = free_port(), free_port()
    picks = iter([first, first, second, 4321 if 4321 not in (first, second) else 4322])

    class Replay:
        def randrange(self, start: int, stop: int) -> int:
            return next(picks)

    monkeypatch.setattr(broker, "_rng", Replay())
    assert free_port() not in (first, second)
