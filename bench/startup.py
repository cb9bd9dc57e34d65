"""Start-up and import memory of `loa process` and the controller, from a given source tree.

    .venv/bin/python -m bench.startup [--tree DIR] [--runs 5] [--minutes 3]

Every figure comes from a fresh ``python -I`` child with ``DIR`` first on its path and pinned to
one core, so the same script measures two trees (``git archive`` of the commit before a change
gives the "before"). On a shared machine wall times swing with the load; CPU time (user +
system, of the child alone) much less, so both are given, best and median of ``--runs``:

* ``import audio.cli``: the imports `loa process` waits for before it reads the file;
* ``loa process`` of a ``--minutes`` recording (48 kHz speech from espeak-ng, or ``--src``) to
  WAV and to Opus, wall time of the whole command, start-up included, as a broadcaster waits
  for it;
* RSS (VmHWM) after ``import controller.api.app`` (the controller's imports, no audio yet) and
  after ``import audio.pipeline, audio.live_chain`` (what an upload or a live session adds);
* whether any of them loaded ``scipy.signal``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_PROBE = """
import json, sys, time
sys.path.insert(0, {tree!r})
t, c = time.perf_counter(), time.process_time()
{body}
dt, dc = time.perf_counter() - t, time.process_time() - c
hwm = next(int(v.split()[1]) for v in open("/proc/self/status") if v.startswith("VmHWM"))
print(json.dumps({{"s": dt, "cpu": dc, "hwm_kb": hwm, "signal": "scipy.signal" in sys.modules}}))
"""

_TIME = ["/usr/bin/time", "-f", "CPU %U %S MAXRSS %M"]  # GNU time: the child's own figures

PROBES = {
    "import audio.cli": "import audio.cli",
    "import controller.api.app": "import controller.api.app",
    "controller app + audio.pipeline + audio.live_chain": (
        "import controller.api.app, audio.pipeline, audio.live_chain"
    ),
}


def _child(tree: Path, body: str) -> dict[str, float]:
    code = _PROBE.format(tree=str(tree), body=body)
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),  # not a source tree: no stray egg-info
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _process(tree: Path, src: Path, dst: Path) -> tuple[float, float, float]:
    """Wall time, CPU time and peak RSS (MB) of one whole `loa process` command."""
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); from controller.cli import main; "
        f"sys.exit(main(['process', '--quiet', {str(src)!r}, {str(dst)!r}]))"
    )
    t = time.perf_counter()
    proc = subprocess.run(
        [*_TIME, "taskset", "-c", "0", sys.executable, "-I", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    wall = time.perf_counter() - t
    user, system, rss = re.findall(r"CPU (\S+) (\S+) MAXRSS (\d+)", proc.stderr)[-1]
    return wall, float(user) + float(system), int(rss) / 1024


def _pair(values: list[float]) -> str:
    return f"{min(values):7.2f} / {statistics.median(values):5.2f}s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--src", type=Path, help="a recording to process instead of generating one")
    args = parser.parse_args()
    tree = args.tree.resolve()
    print(f"tree {tree}, best and median of {args.runs} runs, one core")
    head = f"{'measure':<52} {'wall best/median':>17} {'CPU best/median':>16} {'peak RSS':>9}"
    print(f"{head}  scipy.signal")
    for label, body in PROBES.items():
        runs = [_child(tree, body) for _ in range(args.runs)]
        mb = min(r["hwm_kb"] for r in runs) / 1024
        loaded = "loaded" if any(r["signal"] for r in runs) else "no"
        print(
            f"{label:<52} {_pair([r['s'] for r in runs])} {_pair([r['cpu'] for r in runs])} "
            f"{mb:6.0f} MB  {loaded}"
        )
    from tests.support.audio import bulletin, write_wav

    with tempfile.TemporaryDirectory() as tmp:
        src = args.src.resolve() if args.src else Path(tmp) / "speech48.wav"
        if args.src is None:
            write_wav(str(src), bulletin(args.minutes * 60, 48000, noise_db=-50.0), 48000)
        for ext, name in (("wav", "WAV"), ("ogg", "Opus")):
            whole = [_process(tree, src, Path(tmp) / f"out.{ext}") for _ in range(args.runs)]
            what = src.name if args.src else f"{args.minutes:g} min WAV"
            label = f"loa process, {what} to {name} (whole command)"
            print(
                f"{label:<52} {_pair([r[0] for r in whole])} {_pair([r[1] for r in whole])} "
                f"{min(r[2] for r in whole):6.0f} MB"
            )


if __name__ == "__main__":
    main()
