"""Degraded links (issue 18, "Faults"): one node's traffic delayed, throttled, held and cut by a
proxy in its path (tests/support/link_proxy.py); every node converges once the link heals, each
bulletin aired exactly once."""

from __future__ import annotations

import time

from tests.support import node_events, wait_for
from tests.support.faults import downloading, played_once_by_all, post_to_all
from tests.support.link_proxy import LinkProxy


def test_a_slow_then_dead_then_cut_link_heals_and_every_node_plays_once(system_factory, speech_wav):
    sut = system_factory(nodes=2)
    slow, _fast = sut.node_ids
    with LinkProxy(target_port=sut.node_config(slow)["broker_port"]) as link:
        sut.set_node_config(slow, broker_port=link.port, chunk_size=4096)
        link.delay_s, link.rate_bps = 0.15, 16_000  # a poor 4G cell: late and slow
        sut.cluster.start_all()
        bid = post_to_all(sut, speech_wav, 12)
        downloading(sut, slow)
        link.blackhole = True  # the cell goes silent mid-download: nothing flows, nothing closes
        time.sleep(2)  # the fault is a span of time: nothing to await
        link.cut()  # then the carrier drops the connection
        before = link.connections
        link.heal()
        wait_for(lambda: link.connections > before, 30, "the node to reconnect")
        played_once_by_all(sut, bid, timeout=60)
    assert len(node_events(sut, slow, "finished")) == 1
