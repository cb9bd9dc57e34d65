"""The controller caps glibc's malloc arenas before its threads start (controller.malloc_arenas):
counted with glibc's own ``malloc_stats`` in a fresh process whose threads allocate at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROGRAM = """
import ctypes, sys, threading
from controller import malloc_arenas
took = malloc_arenas.limit() if sys.argv[1] == "limit" else None
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
start = threading.Barrier(12)
def work():
    start.wait()  # all at once: each thread's first allocation looks for a free arena
    blocks = [libc.malloc(4096) for _ in range(2000)]
    for b in blocks:
        libc.free(b)
threads = [threading.Thread(target=work) for _ in range(12)]
for t in threads: t.start()
for t in threads: t.join()
print(took, flush=True)
libc.malloc_stats()
"""


def arenas(mode: str, env: dict[str, str]) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip(), done.stderr.count("Arena ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas: Linux only")
def test_the_controller_s_threads_share_two_arenas_instead_of_one_each():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    took, capped = arenas("limit", env)
    assert took == "True"
    assert capped <= 2
    _, default = arenas("default", env)
    assert default > 2  # without the cap the same threads spread over more arenas


def test_an_operator_s_own_setting_is_left_alone():
    env = {**os.environ, "MALLOC_ARENA_MAX": "4"}
    took, _ = arenas("limit", env)
    assert took == "False"
