"""Stopping a whole system (`loa demo`, every test's teardown) tells all nodes at once, then waits
for them: real processes that each exit only once every one of them has been told."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from controller.ops.cluster import Cluster, Proc
from tests.controller.commune import Commune
from tests.support import wait_for

# Exits 0 once all N siblings have been sent SIGTERM (each leaves a mark); told one at a time,
# the first would wait for the others forever and be killed by the cluster after its timeout.
WAITS_FOR_SIBLINGS = """
import pathlib, signal, sys, time
marks, me, n = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def on_term(*_):
    (marks / me).touch()
    while len(list(marks.iterdir())) < n:
        time.sleep(0.01)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
(marks.parent / ("ready-" + me)).touch()
while True:
    time.sleep(1)
"""


def test_stop_all_tells_every_node_before_waiting_for_any(commune: Commune, tmp_path: Path):
    marks = tmp_path / "marks"
    marks.mkdir()
    names = [f"node-{k}" for k in range(3)]
    cluster = Cluster(config=commune.config)
    for name in names:
        popen = subprocess.Popen(
            [sys.executable, "-c", WAITS_FOR_SIBLINGS, str(marks), name, str(len(names))]
        )
        cluster.nodes[name] = Proc(name, popen, tmp_path / f"{name}.log")
    procs = [cluster.nodes[name].popen for name in names]
    wait_for(
        lambda: all((tmp_path / f"ready-{name}").exists() for name in names),
        30,
        "the nodes to be ready for SIGTERM",
    )
    cluster.stop_all()
    assert cluster.nodes == {}
    assert [p.returncode for p in procs] == [0, 0, 0]  # none was killed after the timeout
