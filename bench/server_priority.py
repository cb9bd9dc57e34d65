"""The broker at the priority its systemd unit gives it on the server.

Every command to every point passes through the broker, which needs little CPU but needs it at
once: ``deploy/systemd/loa-broker.service`` raises its priority (``Nice=``) so that it never
forwards an emergency behind the controller's or the database's work. The benchmarks start the
broker as the demo does, as the user running them, and their simulated points share its two
cores, so without the unit's priority the points' own work would stand in its way, which no
point on its own Pi does (BENCHMARKS.md, "Scale"). ``as_deployed`` gives the started broker the
unit's priority, as systemd would, where the benchmark may (root or CAP_SYS_NICE), and says
which priority it ran at either way.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.ops.cluster import Cluster

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "systemd" / "loa-broker.service"


def unit_nice(unit: Path = UNIT) -> int:
    """The unit's ``Nice=`` (0, the default, where it sets none)."""
    nice = 0
    for line in unit.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "Nice":
            nice = int(value)
    return nice


def as_deployed(pid: int, unit: Path = UNIT) -> str:
    """Give every thread of process ``pid`` the unit's niceness; what it runs at, in words."""
    nice = unit_nice(unit)
    try:
        for task in os.listdir(f"/proc/{pid}/task"):  # niceness is per thread on Linux
            os.setpriority(os.PRIO_PROCESS, int(task), nice)
    except PermissionError:
        now = os.getpriority(os.PRIO_PROCESS, pid)
        return f"broker at nice {now} (the unit's Nice={nice} needs root or CAP_SYS_NICE)"
    return f"broker at nice {nice}, as {unit.name}"


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker-default-priority",
        action="store_true",
        help="leave the broker at the priority it started with, not its systemd unit's",
    )


def start_broker(cluster: Cluster, *, deployed_priority: bool = True) -> None:
    """Start ``cluster``'s broker, at its unit's priority unless ``deployed_priority`` is
    false, and say which."""
    cluster.start_broker()
    assert cluster.broker_proc is not None
    if deployed_priority:
        print(as_deployed(cluster.broker_proc.pid), flush=True)
