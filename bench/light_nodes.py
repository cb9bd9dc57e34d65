"""The benchmark's side of the light points: their processes and what they report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tests.support import wait_for


class LightNodes:
    """``per_process`` points per ``bench.light_node`` process, started at once."""

    def __init__(
        self,
        configs: dict[str, Path],
        data_root: Path,
        per_process: int,
        logs: Path,
        *,
        niceness: int = 0,
    ) -> None:
        """``niceness``: the points' processes yield the CPU to the broker and the controller
        (the system measured), as separate Raspberry Pis would not take it from them."""
        self._lock = threading.Lock()
        # (kind, play_id or "") -> node -> first time reported (epoch seconds)
        self._seen: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
        self.procs: list[subprocess.Popen[bytes]] = []
        self._readers: list[threading.Thread] = []
        paths = [str(configs[n]) for n in sorted(configs)]
        for i in range(0, len(paths), per_process):
            with (logs / f"light-{i // per_process}.log").open("wb") as err:
                proc = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "bench.light_node"),
                        *("--data-root", str(data_root)),
                        *paths[i : i + per_process],
                    ],
                    stdout=subprocess.PIPE,
                    stderr=err,
                    preexec_fn=(lambda: os.nice(niceness)) if niceness else None,  # noqa: PLW1509
                    env=dict(os.environ, PYTHONUNBUFFERED="1"),
                )
            assert proc.stdout is not None
            reader = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
            reader.start()
            self.procs.append(proc)
            self._readers.append(reader)

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = json.loads(raw)
            key = (str(line["kind"]), str(line.get("play_id", "")))
            with self._lock:
                self._seen[key].setdefault(str(line["node"]), float(line["at"]))

    def times(self, kind: str, play_id: str = "") -> dict[str, float]:
        with self._lock:
            return dict(self._seen.get((kind, play_id), {}))

    def count(self, kind: str, play_id: str = "") -> int:
        with self._lock:
            return len(self._seen.get((kind, play_id), {}))

    def counter(self, kind: str, play_id: str, points: int) -> Callable[[], bool]:
        """A check for ``wait_for``: every point has reported ``kind`` for ``play_id``."""
        return lambda: self.count(kind, play_id) >= points

    def wait_online(self, points: int, timeout: float) -> None:
        def check() -> bool:
            if dead := [p.pid for p in self.procs if p.poll() is not None]:
                raise RuntimeError(f"light node process {dead[0]} exited (see light-*.log)")
            return self.count("online") >= points

        wait_for(check, timeout, f"{points} light points connected")

    def rss_kb(self) -> int:
        """The points' processes together (RSS, so shared pages count once per process)."""
        return sum(proc_kb(p.pid, "VmRSS") for p in self.procs if p.poll() is None)

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def proc_kb(pid: int, field: str) -> int:
    """``VmRSS`` / ``VmHWM`` of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int, task: str = "") -> float:
    """User + system CPU seconds of ``pid`` and its threads so far (of one thread: ``task``)."""
    path = Path(f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat")
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS
