"""The start wrapper: a new release that does not come online is rolled back by itself.

Each release here is a real executable (``bin/loa``, a shell script) run by the real wrapper
in a subprocess; the scripts write down that they ran, so each test sees which version ran.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from node_agent import release_start
from node_agent.release_start import Marker, current_version, read_marker, write_marker

WRAPPER = Path(release_start.__file__)
CONFIRM = (
    "python3 -c \"import json,sys; p=sys.argv[1]; m=json.load(open(p)); m['status']='confirmed';"
    ' json.dump(m, open(p, \'w\'))" "$ROOT/update.json"'
)


def release(root: Path, version: str, body: str) -> None:
    loa = root / "releases" / version / "bin" / "loa"
    loa.parent.mkdir(parents=True)
    log = f'echo "$* wrapped=${{LOA_START_WRAPPER:+yes}}" >> "$ROOT/ran-{version}"'
    loa.write_text(f'#!/bin/sh\nROOT="{root}"\n{log}\n{body}\n')
    loa.chmod(0o755)


def pending(root: Path, old: str, new: str, *, within: float = 30.0, started: float | None = None):
    release_start.point_current(root, new)
    write_marker(root, Marker("pending", old, new, within, started_at=started))


def run_wrapper(root: Path) -> int:
    done = subprocess.run(
        [sys.executable, str(WRAPPER), "--root", str(root), "--config", "/etc/loa/node.json"],
        timeout=120,
        check=False,
    )
    return done.returncode


def ran(root: Path, version: str) -> int:
    path = root / f"ran-{version}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_release_that_exits_before_coming_online_is_rolled_back(tmp_path):
    release(tmp_path, "1.0", "exit 0")
    release(tmp_path, "2.0", "exit 3")
    pending(tmp_path, "1.0", "2.0")

    assert run_wrapper(tmp_path) == 0
    assert (ran(tmp_path, "2.0"), ran(tmp_path, "1.0")) == (1, 1)  # tried, then the old one
    assert current_version(tmp_path) == "1.0"
    marker = read_marker(tmp_path)
    assert marker is not None
    assert marker.status == "rolled_back"
    assert "2.0 exited with code 3 before coming online" in marker.reason


def test_a_release_that_hangs_without_coming_online_is_stopped_and_rolled_back(tmp_path):
    release(tmp_path, "1.0", "exit 0")
    release(tmp_path, "2.0", "exec sleep 600")
    pending(tmp_path, "1.0", "2.0", within=0.5)

    assert run_wrapper(tmp_path) == 0
    assert current_version(tmp_path) == "1.0"
    marker = read_marker(tmp_path)
    assert marker is not None
    assert marker.status == "rolled_back"
    assert "did not come online within 0.5 s" in marker.reason
    assert ran(tmp_path, "1.0") == 1


def test_a_release_that_confirms_stays(tmp_path):
    release(tmp_path, "1.0", "exit 0")
    release(tmp_path, "2.0", f"{CONFIRM}\nexit 0")
    pending(tmp_path, "1.0", "2.0")

    assert run_wrapper(tmp_path) == 0
    assert current_version(tmp_path) == "2.0"
    assert ran(tmp_path, "1.0") == 0
    marker = read_marker(tmp_path)
    assert marker is not None
    assert marker.status == "confirmed"


def test_an_unconfirmed_trial_found_after_a_power_cut_is_rolled_back_before_it_runs(tmp_path):
    release(tmp_path, "1.0", "exit 0")
    release(tmp_path, "2.0", "exit 0")
    pending(tmp_path, "1.0", "2.0", within=60, started=time.time() - 3600)

    assert run_wrapper(tmp_path) == 0
    assert (ran(tmp_path, "2.0"), ran(tmp_path, "1.0")) == (0, 1)
    assert current_version(tmp_path) == "1.0"


def test_the_restart_exit_starts_current_again_and_other_exits_end_the_wrapper(tmp_path):
    # the agent exits 75 after switching; the wrapper runs whatever current is now
    counter = tmp_path / "ran-1.0"
    release(
        tmp_path,
        "1.0",
        f'[ "$(wc -l < "{counter}")" -ge 2 ] && exit 4\nexit {release_start.RESTART_EXIT}',
    )
    release_start.point_current(tmp_path, "1.0")

    assert run_wrapper(tmp_path) == 4  # systemd's Restart= takes it from there
    assert ran(tmp_path, "1.0") == 2
    first = (tmp_path / "ran-1.0").read_text().splitlines()[0]
    assert first == "node --config /etc/loa/node.json wrapped=yes"  # the agent knows who watches


def test_a_current_that_is_not_a_symlink_is_refused(tmp_path):
    (tmp_path / "current").mkdir()
    assert run_wrapper(tmp_path) == 2


def test_the_agent_gets_the_root_and_the_watchdog_systemd_meant_for_the_wrapper(tmp_path):
    # systemd sets WATCHDOG_PID to the unit's main process, the wrapper: the agent it runs is
    # the loop that would hang, so it must still feed; told so by the real Notifier
    repo = Path(release_start.__file__).resolve().parents[1]
    probe = (
        f"import sys; sys.path.insert(0, {str(repo)!r}); import os;"
        " from node_agent.sdnotify import Notifier;"
        " print(Notifier().feed_every_s, os.environ.get('LOA_INSTALL_ROOT'))"
    )
    release(tmp_path, "1.0", f'python3 -c "{probe}" > "$ROOT/seen"')
    release_start.point_current(tmp_path, "1.0")
    env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": str(tmp_path / "notify")}
    wrapper = [sys.executable, str(WRAPPER), "--root", str(tmp_path), "--config", "/c.json"]

    def seen(watchdog_pid: str) -> list[str]:
        # exec: the wrapper keeps the shell's pid, which $$ names before it starts
        shell = f'WATCHDOG_PID={watchdog_pid} exec "$@"'
        subprocess.run(
            ["sh", "-c", shell, "sh", *wrapper],
            env={**env, "WATCHDOG_USEC": "2000000"},
            timeout=120,
            check=True,
        )
        seen_words: list[str] = (tmp_path / "seen").read_text().split()
        return seen_words

    assert seen("$$") == ["1.0", str(tmp_path.resolve())]
    # a watchdog meant for some other process stays someone else's
    assert seen("1") == ["None", str(tmp_path.resolve())]
