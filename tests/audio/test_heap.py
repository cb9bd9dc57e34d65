"""``audio.heap.keep_freed_memory``: a block freed and asked for again comes back from the heap
without new page faults (counted by the kernel, not timed), and ``loa process`` asks for it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import audio.cli
import audio.heap
from tests.support.audio import write_wav

REPO = Path(__file__).resolve().parents[2]

# In a fresh interpreter: the page faults of touching a 3 MB block (under numpy's 4 MB huge-page
# size), three times, freed in between. glibc's default maps it, unmaps it on free and then
# grows the heap for the next one: fresh pages twice.
_FAULTS = """
import json, resource, sys
sys.path.insert(0, {repo!r})
import numpy as np
from audio.heap import keep_freed_memory
kept = keep_freed_memory() if {keep} else None
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(3 << 18, np.float32)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del block
print(json.dumps({{"kept": kept, "faults": faults}}))
"""


def _faults(keep: bool) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-I", "-c", _FAULTS.format(repo=str(REPO), keep=keep)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_freed_block_is_reused_without_new_page_faults() -> None:
    pages = (3 << 20) // 4096
    default = _faults(keep=False)["faults"]
    assert isinstance(default, list)
    assert default[1] > pages // 2  # the premise: glibc's default faults the block in again
    got = _faults(keep=True)
    assert got["kept"] is True
    faults = got["faults"]
    assert isinstance(faults, list)
    assert faults[0] > pages // 2  # the first time the pages are new in any case
    assert faults[1] < pages // 20
    assert faults[2] < pages // 20


def test_loa_process_keeps_freed_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def keep() -> bool:
        calls.append(True)
        return True

    monkeypatch.setattr(audio.cli, "keep_freed_memory", keep)
    src = tmp_path / "in.wav"
    write_wav(str(src), np.zeros(16000, np.float32), 16000)
    audio.cli.main([str(src), str(tmp_path / "out.wav"), "--quiet"])  # silence: refused, exit 2
    assert calls == [True]


def test_an_operators_own_malloc_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[int, int]] = []

    def mallopt(param: int, value: int) -> int:
        made.append((param, value))
        return 1

    monkeypatch.setattr(audio.heap, "glibc_mallopt", lambda: mallopt)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    assert audio.heap.keep_freed_memory()
    assert made == [(audio.heap._M_MMAP_THRESHOLD, 32 << 20)]  # the trim threshold is theirs
