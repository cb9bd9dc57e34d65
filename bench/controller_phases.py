"""The controller's resident memory through the phases of ``bench.scale``, sampled every 0.1 s.

    python -m bench.controller_phases --points 1000 [--trace-dir DIR]

Runs ``python -m bench.scale --points N --no-node-rss`` as it is, finds the controller it
starts (the longest-lived ``controller.cli controller`` process), reads its ``VmRSS`` every
0.1 s and prints the highest value in each phase: start-up, points coming online, the warm-up
alert and the first round, the other rounds, the bulletin's upload (as long as its API call
took) and the delivery after it. ``bench.scale`` itself prints the high-water mark (VmHWM).

``--trace-dir DIR`` also puts ``bench/late_tracemalloc`` on the controller's path: it starts
``tracemalloc`` once the points are online and writes a snapshot to DIR at each new high of
``VmRSS`` (``python -m bench.controller_phases --show DIR/snap-N.pickle`` lists it). Tracing
slows the controller several times over: its figures say what is held, not how fast.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

CONTROLLER = re.compile(rb"controller\.cli\0controller\0")
PHASES = ("provisioned", "all online", "round 1", "round 2")
TRACER = Path(__file__).resolve().parent / "late_tracemalloc"


def controllers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if CONTROLLER.search((entry / "cmdline").read_bytes()):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def rss_mb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def sample(samples: dict[int, list[tuple[float, int]]], done: threading.Event) -> None:
    while not done.is_set():
        for pid in controllers():
            if (mb := rss_mb(pid)) is not None:
                samples.setdefault(pid, []).append((time.time(), mb))
        time.sleep(0.1)


def run(points: int, trace_dir: Path | None) -> None:
    env = dict(os.environ)
    if trace_dir is not None:
        trace_dir.mkdir(parents=True, exist_ok=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRACER), env.get("PYTHONPATH")]))
        env["LOA_BENCH_TRACE_DIR"] = str(trace_dir)
    samples: dict[int, list[tuple[float, int]]] = {}
    done = threading.Event()
    sampler = threading.Thread(target=sample, args=(samples, done), daemon=True)
    sampler.start()
    marks: dict[str, float] = {}
    upload_s = 0.0
    cmd = [sys.executable, "-u", "-m", "bench.scale", "--points", str(points), "--no-node-rss"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            for phase in (*PHASES, "round 3"):
                if phase in line and phase not in marks:
                    marks[phase] = time.time()
                    if phase == "all online" and trace_dir is not None:
                        (trace_dir / "start").touch()
            if found := re.search(r"\(([\d.]+) s\) \|", line):
                upload_s = float(found[1])
    done.set()
    sampler.join()
    rows = max(samples.values(), key=len)  # the measured controller lives longest
    edges = [rows[0][0], *(marks[p] for p in PHASES), marks["round 3"]]
    names = ["start-up", "points coming online", "warm-up alert, round 1", "rounds 2-3"]
    upload_end = marks["round 3"] + upload_s
    spans = [*zip(names, edges, edges[1:], strict=False), ("upload", marks["round 3"], upload_end)]
    spans.append(("delivery", upload_end, rows[-1][0] + 1))
    print("\n| phase | controller VmRSS at its highest |\n|---|---:|")
    for name, lo, hi in spans:
        inside = [mb for t, mb in rows if lo <= t < hi]
        if inside:
            print(f"| {name} | {max(inside)} MB |")


def show(snapshot: Path, top: int) -> None:
    stats = tracemalloc.Snapshot.load(str(snapshot)).statistics("traceback")
    print(f"{sum(s.size for s in stats) / 1e6:.1f} MB traced")
    for stat in stats[:top]:
        print(f"--- {stat.size / 1e6:.1f} MB in {stat.count} blocks")
        print("\n".join(line for line in stat.traceback.format()[-12:] if "File" in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--trace-dir", type=Path, help="snapshots of tracemalloc, started late")
    parser.add_argument("--show", type=Path, help="print a snapshot's largest allocations")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    if args.show:
        show(args.show, args.top)
    else:
        run(args.points, args.trace_dir)


if __name__ == "__main__":
    main()
