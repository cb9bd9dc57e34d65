"""A loudspeaker point as deploy/node/install.sh leaves it, started as systemd would start it:
the installed unit's ExecStart (every path the installer wrote moved under the test's root), as
the unit's user and groups, with systemd's environment (a fake notify socket, the watchdog with
WATCHDOG_PID on the main process, the state directory)."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.node_root import Pi, make_pi
from tests.deploy.test_systemd_units import unit_settings
from tests.support.systemd import FakeSystemd
from tests.support.wheels import lend_test_dependencies

WATCHDOG_USEC = 2_000_000


def install_point(base: Path, wheel: Path, node_json: str) -> Pi:
    """Run the installer on a fresh Pi under ``base`` (reachable by the unit's user) with a
    bundle holding ``node_json``; the release gets the test's dependencies (installed offline
    without them)."""
    bundle = base / "bundle"
    bundle.mkdir()
    (bundle / "node.json").write_text(node_json)
    pi = make_pi(base / "pi", wheel)
    for d in (pi.root, pi.state):
        d.chmod(0o711)
    result = pi.run(str(bundle))
    assert result.returncode == 0, result.stderr + result.stdout
    lend_test_dependencies(pi.root / "opt/loalang/current")
    return pi


def exec_start(pi: Pi) -> list[str]:
    """The installed unit's command line, each absolute path the installer wrote moved under
    the root (the system's own, /usr/bin/python3, stays)."""
    unit = unit_settings(pi.root / "etc/systemd/system/loa-node.service")
    argv = shlex.split(unit["ExecStart"][-1])
    return [str(pi.root / a.lstrip("/")) if (pi.root / a.lstrip("/")).exists() else a for a in argv]


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    systemd: FakeSystemd
    state_dir: Path
    uid: int


@contextmanager
def run_unit(pi: Pi, log: Path, *, notify: bool = True) -> Iterator[Running]:
    """The unit's main process, stopped (then killed if need be) on the way out. With
    ``notify`` the test must read ``systemd``: a notify socket nobody reads fills up, and
    then blocks the agent's sends as it would under a hung systemd."""
    loa = pi.entry("passwd", "loa")
    groups = [int(pi.entry("group", g)[2]) for g in ("audio", "gpio")]
    systemd = FakeSystemd(pi.state / "notify")
    (pi.state / "notify").chmod(0o666)
    state_dir = pi.root / "var/lib/loalang"
    env = {
        **(systemd.env(WATCHDOG_USEC=str(WATCHDOG_USEC)) if notify else {}),
        "STATE_DIRECTORY": str(state_dir),
        "PATH": "/usr/bin:/bin",
        "HOME": str(state_dir),
        "PYTHONUNBUFFERED": "1",
    }
    argv = exec_start(pi)
    # systemd sets WATCHDOG_PID to the main process: exec keeps the shell's pid, $$
    shell = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh", *argv]
    with log.open("wb") as out:
        process = subprocess.Popen(
            shell,
            env=env,
            cwd=state_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            user=int(loa[2]),
            group=int(loa[3]),
            extra_groups=groups,
        )
    try:
        yield Running(process, systemd, state_dir, int(loa[2]))
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        systemd.sock.close()
        text = log.read_text(errors="replace")
        print(f"--- the unit's output ---\n{text[-6000:]}")  # shown when a test fails
