"""Twenty broker restarts at seeded random moments while fifty points take one bulletin (issue
18, "Faults"). The points are light ones (``bench/light_node.py``: the node's own protocol code,
store, fetcher and outbox, without a player), 25 to a process, against the real broker and
controller. The bar: every point ends with the bulletin exactly once and the report says so."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from bench.light_nodes import LightNodes
from tests.support import controller_rows, make_system, wait_for
from tests.support.faults import post_to_all

POINTS = 50
RESTARTS = 20


def test_twenty_broker_restarts_while_fifty_points_take_a_bulletin(tmp_path: Path, speech_wav):
    sut = make_system(tmp_path / "sys", nodes=POINTS)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: restarts land mid-transfer
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    points = LightNodes(sut.cluster.node_configs, tmp_path / "points", 25, sut.cluster.logs_dir)
    try:
        points.wait_online(POINTS, timeout=60)
        bid = post_to_all(sut, speech_wav, 8)
        rng = random.Random(18)  # the same "random" moments on every run
        for _ in range(RESTARTS):
            time.sleep(rng.uniform(0.0, 0.4))
            sut.cluster.stop_broker()
            sut.cluster.start_broker()
        report = wait_for(
            lambda: (r := sut.report(bid))["summary"]["completed"] == POINTS and r,
            60,
            f"all {POINTS} points to play",
        )
    finally:
        points.close()
        sut.cluster.stop_all()
    assert report["summary"]["not_played"] == 0
    (play_id,) = {n["play_id"] for n in report["nodes"]}
    assert points.count("started", play_id) == points.count("finished", play_id) == POINTS
    started = controller_rows(sut, "SELECT node_id, payload FROM node_events WHERE type='started'")
    per_point: dict[str, int] = {}
    for node_id, payload in started:
        assert json.loads(payload)["play_id"] == play_id
        per_point[node_id] = per_point.get(node_id, 0) + 1
    assert per_point == dict.fromkeys(sut.node_ids, 1)  # none lost, none doubled
