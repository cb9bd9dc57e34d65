"""The node's start wrapper, and the pending-update marker it shares with the agent.

Standard library only: it runs as a standalone script outside every release
(``python3 /opt/loalang/loa-node-start --root /opt/loalang --config ...``), so a release that
cannot even import still gets rolled back by code that has already proven itself.

Layout under ``--root``: ``releases/VERSION/`` (one virtualenv per version), ``current`` (a
relative symlink to the one that runs) and ``update.json`` (the marker). The agent writes the
marker ``pending`` before it switches ``current`` and exits with :data:`RESTART_EXIT`; the
wrapper then runs the new version, which marks it ``confirmed`` once it is connected and has
reported its state. If the new version exits first, or is not confirmed within
``confirm_within_s`` of its start, the wrapper stops it, points ``current`` back at the old
release, marks the update ``rolled_back`` with the reason, and starts the old version, which
reports the outcome.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

# Set for the agent it runs: an agent without it refuses updates (nothing could roll them back).
WRAPPED_ENV = "LOA_START_WRAPPER"
# The wrapper's --root, for the agent: its install_root when its config names none.
ROOT_ENV = "LOA_INSTALL_ROOT"
RESTART_EXIT = 75  # EX_TEMPFAIL: "start me again", after a switch of releases
STOP_GRACE_S = 10.0
MARKER = "update.json"
CURRENT = "current"
RELEASES = "releases"
# Variables that would let the caller's code shadow the release's own (a test's or a shell's).
_SHADOWING = ("PYTHONPATH", "PYTHONHOME")

MarkerStatus = Literal["pending", "confirmed", "rolled_back"]


@dataclass
class Marker:
    status: MarkerStatus
    from_version: str
    to_version: str
    confirm_within_s: float
    started_at: float | None = None  # wall time the new version was first started
    reason: str = ""


WRAPPER = "loa-node-start"


def install_wrapper(root: Path) -> Path:
    """Put this file at ``root/loa-node-start``, where the node's unit runs it. The agent does
    it once its release is confirmed online, so a wrapper changes only with a proven release."""
    target = root / WRAPPER
    tmp = root / f".{WRAPPER}.tmp"
    tmp.write_bytes(Path(__file__).read_bytes())
    tmp.chmod(0o755)
    os.replace(tmp, target)
    return target


def release_dir(root: Path, version: str) -> Path:
    return root / RELEASES / version


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Serialise read-modify-write of the marker between the wrapper and the agent."""
    with (root / "update.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_marker(root: Path) -> Marker | None:
    try:
        data = json.loads((root / MARKER).read_text())
        return Marker(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:  # a torn or foreign file: say so, never guess
        print(f"loa-node-start: ignoring unreadable {root / MARKER}: {exc}", file=sys.stderr)
        return None


def write_marker(root: Path, marker: Marker) -> None:
    tmp = root / f"{MARKER}.tmp"
    with tmp.open("w") as fh:
        json.dump(asdict(marker), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / MARKER)
    _sync_dir(root)


def clear_marker(root: Path) -> None:
    (root / MARKER).unlink(missing_ok=True)
    _sync_dir(root)


def current_version(root: Path) -> str:
    """The version ``current`` points at (its directory's name)."""
    return os.readlink(root / CURRENT).rstrip("/").rsplit("/", 1)[-1]


def point_current(root: Path, version: str) -> None:
    """Switch ``current`` to ``releases/VERSION`` atomically: a rename over the old link, so a
    power cut leaves one or the other, never none."""
    tmp = root / f"{CURRENT}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(f"{RELEASES}/{version}", tmp)
    os.replace(tmp, root / CURRENT)
    _sync_dir(root)


def roll_back(root: Path, reason: str) -> bool:
    """Point ``current`` back at the old release if an update is still unconfirmed; False when
    it was confirmed meanwhile (it came online after all)."""
    with locked(root):
        marker = read_marker(root)
        if marker is None or marker.status != "pending":
            return False
        point_current(root, marker.from_version)
        marker.status, marker.reason = "rolled_back", reason
        write_marker(root, marker)
    print(f"loa-node-start: rolled back to {marker.from_version}: {reason}", file=sys.stderr)
    return True


def _trial(root: Path) -> Marker | None:
    """The pending update whose new version is about to start (its clock starts now), or None.
    A trial whose time ran out while nothing watched (a power cut) is rolled back first."""
    with locked(root):
        marker = read_marker(root)
        if marker is None or marker.status != "pending":
            return None
        if marker.started_at is None:
            marker.started_at = time.time()
            write_marker(root, marker)
            return marker
    if time.time() > marker.started_at + marker.confirm_within_s:
        roll_back(
            root, f"{marker.to_version} did not come online within {marker.confirm_within_s:g} s"
        )
        return None
    return marker


class Wrapper:
    def __init__(self, root: Path, config: Path) -> None:
        self.root, self.config = root, config
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        while True:
            trial = _trial(self.root)
            code = self._run_child(trial)
            if self.stopping:
                return code
            if trial is not None:
                if _status(self.root, trial) == "pending":
                    roll_back(
                        self.root,
                        f"{trial.to_version} exited with code {code} before coming online",
                    )
                if _status(self.root, trial) == "rolled_back":
                    continue  # the old version starts again and reports the outcome
            if code != RESTART_EXIT:
                return code  # systemd's Restart= decides what comes next

    def _run_child(self, trial: Marker | None) -> int:
        env = {k: v for k, v in os.environ.items() if k not in _SHADOWING}
        env[WRAPPED_ENV] = str(os.getpid())
        env[ROOT_ENV] = str(self.root.resolve())
        if env.get("WATCHDOG_PID") == str(os.getpid()):
            # systemd meant the watchdog for the unit's main process, this wrapper; the agent
            # is the loop that would hang, so it is the one to feed it (sd_watchdog_enabled(3):
            # with no WATCHDOG_PID the watchdog is the receiving process's)
            del env["WATCHDOG_PID"]
        loa = self.root / CURRENT / "bin" / "loa"
        self.child = subprocess.Popen([str(loa), "node", "--config", str(self.config)], env=env)
        while True:
            try:
                return self.child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if trial is None or trial.started_at is None:
                continue
            deadline = trial.started_at + trial.confirm_within_s
            if time.time() > deadline and _status(self.root, trial) == "pending":
                _stop(self.child)
                roll_back(
                    self.root,
                    f"{trial.to_version} did not come online within {trial.confirm_within_s:g} s",
                )
                return self.child.wait()


def _status(root: Path, trial: Marker) -> MarkerStatus | None:
    """The status of ``trial``'s marker; None once the marker is another update's (the version
    on trial came online, then switched to a newer one itself)."""
    with locked(root):
        marker = read_marker(root)
    if marker is None or (marker.to_version, marker.started_at) != (
        trial.to_version,
        trial.started_at,
    ):
        return None
    return marker.status


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="loa-node-start", description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, required=True, help="holds releases/ and current")
    p.add_argument("--config", type=Path, required=True, help="the node's config file")
    args = p.parse_args(argv)
    if not (args.root / CURRENT).is_symlink():
        print(
            f"loa-node-start: {args.root / CURRENT} is not a symlink to a release", file=sys.stderr
        )
        return 2
    wrapper = Wrapper(args.root, args.config)
    signal.signal(signal.SIGTERM, wrapper.on_signal)
    signal.signal(signal.SIGINT, wrapper.on_signal)
    return wrapper.run()


if __name__ == "__main__":
    sys.exit(main())
