"""Benchmark only, never on the product's path: ``bench.controller_phases --trace-dir DIR`` puts
this directory on ``PYTHONPATH``, so Python runs this file in every process it starts; it acts
in the controller only (``controller.cli controller``).

Started with the process, tracemalloc made the controller too slow to come up within the
benchmark's timeouts. Here a thread waits for ``DIR/start`` (written once every point is
online), then starts tracing and writes a snapshot (``DIR/snap-0..2.pickle``, in turn) at each
new high of ``VmRSS`` (4 MB or more above the last), logging ``VmRSS`` and the traced total to
``DIR/trace.log`` every 0.5 s.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = 10
STEP_KB = 4096


def _is_controller() -> bool:
    try:
        args = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"controller.cli" in args and b"controller" in args[args.index(b"controller.cli") :]


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _trace(out: Path) -> None:
    while not (out / "start").exists():
        time.sleep(0.2)
    tracemalloc.start(FRAMES)
    best, taken = 0, 0
    with (out / "trace.log").open("a") as log:
        while True:
            time.sleep(0.5)
            rss = _rss_kb()
            traced = tracemalloc.get_traced_memory()[0]
            log.write(f"{time.time():.1f} VmRSS {rss // 1024} MB, traced {traced >> 20} MB\n")
            log.flush()
            if rss > best + STEP_KB:
                best = rss
                tracemalloc.take_snapshot().dump(str(out / f"snap-{taken % 3}.pickle"))
                log.write(f"{time.time():.1f} snap-{taken % 3} at VmRSS {rss // 1024} MB\n")
                taken += 1


if (trace_dir := os.environ.get("LOA_BENCH_TRACE_DIR")) and _is_controller():
    threading.Thread(target=_trace, args=(Path(trace_dir),), daemon=True, name="trace").start()
