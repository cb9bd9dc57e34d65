"""The controller sets glibc's allocator before its threads start (controller.malloc_settings),
shown with glibc's own accounts in fresh processes: ``malloc_stats`` for the arenas, ``mallinfo2``
for the arrays kept in mappings of their own."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc: Linux only")

PREAMBLE = """
import ctypes, sys, threading
from controller import malloc_settings
took = malloc_settings.apply() if sys.argv[1] == "apply" else {}
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
print(sorted(k for k, v in took.items() if v), flush=True)
"""

THREADS = """
start = threading.Barrier(12)
def work():
    start.wait()  # all at once: each thread's first allocation looks for a free arena
    blocks = [libc.malloc(4096) for _ in range(2000)]
    for b in blocks:
        libc.free(b)
threads = [threading.Thread(target=work) for _ in range(12)]
for t in threads: t.start()
for t in threads: t.join()
libc.malloc_stats()
"""

ARRAYS = """
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc.mallinfo2.restype = MallInfo2
first = libc.malloc(4 << 20)
libc.free(first)  # glibc's default now raises its mmap threshold past 4 MB
held = libc.mallinfo2().hblks  # large blocks in mappings of their own (Python has a few)
second = libc.malloc(4 << 20)
print(libc.mallinfo2().hblks - held, flush=True)  # 1: the second array got its own mapping
libc.free(second)
"""


def run(body: str, mode: str, env: dict[str, str]) -> tuple[list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PREAMBLE + body, mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = done.stdout.splitlines()
    return ast.literal_eval(lines[0]), "\n".join(lines[1:]) + done.stderr


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}


def test_the_controller_s_threads_share_two_arenas_instead_of_one_each():
    took, stats = run(THREADS, "apply", clean_env())
    assert took == ["arenas", "mmap_threshold"]
    assert stats.count("Arena ") <= 2
    _, default = run(THREADS, "default", clean_env())
    assert default.count("Arena ") > 2  # without the cap the same threads spread further


def test_a_large_array_freed_and_made_again_stays_in_a_mapping_given_back_on_free():
    _, mapped = run(ARRAYS, "apply", clean_env())
    assert mapped.split()[0] == "1"
    _, default = run(ARRAYS, "default", clean_env())
    assert default.split()[0] == "0"  # glibc's default kept the second one in its heap


def test_an_operator_s_own_settings_are_left_alone():
    env = {**clean_env(), "MALLOC_ARENA_MAX": "4", "MALLOC_MMAP_THRESHOLD_": "65536"}
    took, _ = run("", "apply", env)
    assert took == []
