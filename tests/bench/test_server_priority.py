"""The benchmarks run the broker at the priority its systemd unit gives it on the server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import server_priority
from tests.support import wait_for

TWO_THREADS = (
    "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); "
    "time.sleep(60)"
)


def thread_nices(pid: int) -> list[int]:
    # field 19 of /proc/<pid>/task/<tid>/stat, counted after the command's closing bracket
    return [
        int(Path(f"/proc/{pid}/task/{tid}/stat").read_text().rpartition(")")[2].split()[16])
        for tid in os.listdir(f"/proc/{pid}/task")
    ]


def test_the_deployed_broker_is_given_the_cpu_first() -> None:
    assert server_priority.unit_nice() < 0
    assert "CPUWeight=" in server_priority.UNIT.read_text()


def test_a_unit_without_nice_leaves_the_default(tmp_path: Path) -> None:
    unit = tmp_path / "plain.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n# Nice=-5 in a comment is not a setting\n")
    assert server_priority.unit_nice(unit) == 0


def test_every_thread_of_the_process_gets_the_units_niceness(tmp_path: Path) -> None:
    unit = tmp_path / "broker.service"
    unit.write_text("[Service]\nExecStart=/bin/true\nNice=7\n")  # lowering needs no privilege
    child = subprocess.Popen([sys.executable, "-c", TWO_THREADS])
    try:
        wait_for(lambda: len(os.listdir(f"/proc/{child.pid}/task")) == 2, 10, "two threads")
        said = server_priority.as_deployed(child.pid, unit)
        assert thread_nices(child.pid) == [7, 7]
        assert "nice 7" in said
    finally:
        child.kill()
        child.wait()


def test_where_the_kernel_refuses_it_says_so_and_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without root or CAP_SYS_NICE (the suite runs as root in CI, so the kernel's refusal
    is played here)."""
    unit = tmp_path / "broker.service"
    unit.write_text("[Service]\nNice=-10\n")

    def refuse(which: int, who: int, prio: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setpriority", refuse)
    said = server_priority.as_deployed(os.getpid(), unit)
    assert said.startswith(f"broker at nice {os.getpriority(os.PRIO_PROCESS, 0)} ")
    assert "Nice=-10 needs root" in said
