"""A node's memory while it plays a long bulletin: peak RSS of the real player.

    .venv/bin/python -m bench.node_memory [--minutes 3 30] [--dir DIR]

For each length, writes a delivery-format Opus file (mono, 16 kHz, 32 kbit/s CBR, 60 ms
packets, as the controller sends) and plays it in a fresh process: the node agent's modules
imported (``node_agent.agent``), its real ``Player`` with the agent's own loader, a
``WavFileSink`` (``realtime=False``, so 30 minutes take seconds; the sink writes block by
block as it does in real time) and a recording relay. Reported per process: RSS once the agent
is imported and the player built (idle), the peak RSS (``VmHWM``) after the bulletin has played,
and the bulletin's length as written by the sink. No broker and no MQTT session: those are the
same whatever the bulletin's length.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16000
BLOCK_S = 60  # the signal is made and encoded a minute at a time


def _speechlike(seconds: int, rng: np.random.Generator) -> np.ndarray:
    """Noise under a syllable-rate envelope with a wandering voice-like tone: enough for the
    codec to spend its bits as on speech."""
    t = np.arange(seconds * RATE) / RATE
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * t))
    voice = np.sin(2 * np.pi * (150 + 30 * np.sin(2 * np.pi * 0.7 * t)) * t)
    x = envelope * (0.25 * voice + 0.05 * rng.standard_normal(t.size))
    return x.astype(np.float32)


def make_bulletin(path: Path, seconds: int) -> Path:
    """A ``seconds`` long delivery-format Opus file at ``path`` (kept if already there)."""
    if path.exists():
        return path
    from audio import opus

    rng = np.random.default_rng(seconds)
    lengths = [BLOCK_S] * (seconds // BLOCK_S) + [seconds % BLOCK_S]
    x = np.concatenate([_speechlike(n, rng) for n in lengths])
    opts = opus.options(complexity=0, application="audio", frame_ms=60, vbr="off")
    tmp = path.with_suffix(".tmp.ogg")
    opus.write(tmp, opus.encode(x, RATE, bitrate=32000, opts=opts))
    tmp.replace(path)
    return path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def play_once(path: Path, out_dir: Path, *, before_play: Callable[[], None] = lambda: None) -> str:
    """Play ``path`` once through the node's real player and loader into a ``WavFileSink``
    (not real time) in ``out_dir``; returns how it ended ("finished" or "failed: why").
    ``before_play`` runs once the player is built, just before the item is queued."""
    from node_agent.agent import load_audio
    from node_agent.player import Player
    from node_agent.relay import RecordingRelay
    from node_agent.sinks import WavFileSink
    from protocol.messages import AudioRef, PlayCommand

    done = threading.Event()
    outcome: list[str] = []

    def emit(kind: str, play_id: str, **kw: object) -> None:
        if kind in ("finished", "failed"):
            outcome.append(f"{kind}: {kw['reason']}" if kind == "failed" else kind)
            done.set()

    player = Player(
        WavFileSink(out_dir, realtime=False),
        RecordingRelay(),
        audio_path=lambda _sha: path,
        load=load_audio,
        emit=emit,
        on_playing=lambda _p: None,
        preroll_s=0.0,
        postroll_s=0.0,
    )
    before_play()
    player.start()
    now = datetime.now(UTC)
    player.add(
        PlayCommand(
            play_id="bulletin",
            bulletin_id="bulletin",
            audio=AudioRef(sha256="0" * 64, size=path.stat().st_size, duration_s=1.0),
            play_at=now,
            valid_until=now + timedelta(hours=1),
        )
    )
    try:
        if not done.wait(timeout=600):
            raise RuntimeError("the bulletin did not finish within 10 minutes")
    finally:
        player.stop()
    return outcome[0]


def child(path: Path, out_dir: Path) -> dict[str, float | str]:
    """In this process: the agent's modules and player, ``path`` played once; memory."""
    idle_kb: list[int] = []
    outcome = play_once(path, out_dir, before_play=lambda: idle_kb.append(_status_kb("VmRSS")))
    played = json.loads((out_dir / "bulletin.json").read_text())
    return {
        "idle_mb": idle_kb[0] / 1024,
        "peak_mb": _status_kb("VmHWM") / 1024,
        "played_s": played["frames_played"] / played["sample_rate"],
        "outcome": outcome,
    }


def measure(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="loa-nodemem-") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.node_memory", "--child", str(path), "--out", out],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, nargs="+", default=[3, 30])
    parser.add_argument("--dir", type=Path, help="where the Opus files are kept between runs")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.out)))
        return
    with tempfile.TemporaryDirectory(prefix="loa-nodemem-") as tmp:
        where = args.dir or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        print("| bulletin | Opus file | agent idle RSS | peak RSS while playing | played |")
        print("|---|---|---|---|---|")
        for minutes in args.minutes:
            path = make_bulletin(where / f"bulletin-{minutes}min.ogg", minutes * 60)
            r = measure(path)
            print(
                f"| {minutes} min | {path.stat().st_size / 1e6:.1f} MB | {r['idle_mb']:.0f} MB "
                f"| {r['peak_mb']:.0f} MB | {r['played_s']:.0f} s ({r['outcome']}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
