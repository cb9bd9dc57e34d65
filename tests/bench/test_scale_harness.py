"""The scale benchmark's light points keep working: three of them take one emergency.

Real Mosquitto and controller processes, the points provisioned as real ones; no timing is
asserted (the figures are ``bench.scale``'s, in BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path

from bench.light_nodes import LightNodes
from bench.scale import all_online, emergency_round, start_system
from tests.support import wait_for


def test_three_light_points_start_an_emergency_and_the_controller_sees_it(tmp_path: Path) -> None:
    cluster, api, drops = start_system(tmp_path / "sys", 3)
    nodes = LightNodes(cluster.node_configs, tmp_path / "points", 3, cluster.logs_dir)
    try:
        nodes.wait_online(3, timeout=60)
        wait_for(lambda: all_online(api, 3), 60, "three points online at the controller")
        done = emergency_round(api, nodes, 3)
        # every point got the signed command, verified it and went on air
        assert len(done.command_at_node) == len(done.started) == 3
        assert len(nodes.procs) == 1  # all three in one process
    finally:
        nodes.close()
        api.close()
        drops.close()
        cluster.stop_all()
