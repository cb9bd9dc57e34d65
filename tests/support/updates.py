"""What the update tests ask of a running system: the controller's view of a point's update,
``loa`` on the command line, and a release that cannot start.

Shared by the end-to-end update test and the installed point's (tests/deploy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import SystemUnderTest, controller_rows, wait_for
from tests.support.wheels import ROOT

AGENT = Path("node_agent/agent.py")
MAIN = "def main(config_path: Path) -> int:\n"
BROKEN_AGENT = (
    (ROOT / AGENT)
    .read_text()
    .replace(MAIN, f"{MAIN}    raise RuntimeError('a release that cannot start')\n")
)


def node_row(sut: SystemUnderTest, node_id: str) -> dict[str, Any]:
    with sut.http() as c:
        return next(n for n in c.get("/api/v1/nodes").json() if n["id"] == node_id)


def loa(sut: SystemUnderTest, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", *args, "--data", str(sut.cluster.config.data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def update_row(sut: SystemUnderTest, node_id: str) -> tuple[str, str, str] | None:
    found = controller_rows(
        sut, "SELECT version, status, reason FROM node_updates WHERE node_id=?", node_id
    )
    return (str(found[0][0]), str(found[0][1]), str(found[0][2])) if found else None


def outcome(sut: SystemUnderTest, node_id: str, version: str, status: str) -> str:
    """The reason the point's update to ``version`` ended in ``status``, once it has."""

    seen: list[tuple[str, str, str] | None] = [None]

    def ended() -> tuple[str, str, str] | None:
        row = seen[0] = update_row(sut, node_id)
        return row if row is not None and row[:2] == (version, status) else None

    try:
        return wait_for(ended, 90, f"the update to {version} to end {status}")[2]
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the point's update row: {seen[0]}") from None
