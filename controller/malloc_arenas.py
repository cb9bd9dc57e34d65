"""Fewer glibc malloc arenas for the controller's threads.

The controller runs many threads (the HTTP worker pool, the MQTT network loop, the dispatcher,
the scheduler, the audio chain of an upload). glibc gives threads arenas of their own, up to
eight per core, and memory freed in one arena is not reused for another thread's allocations, so
the process's peak grows with the threads that were busy at once rather than with what they
held. Measured with ``bench.scale`` at 1,000 points: a controller peak of 361 MB with glibc's
default and 287 MB with two arenas, the same latencies (BENCHMARKS.md, "Scale").

An operator's own ``MALLOC_ARENA_MAX`` wins; other C libraries (musl has no arenas) are left
alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit(arenas: int = ARENAS) -> bool:
    """Cap the arenas threads created from now on get; True if glibc took it. Call it before
    the process starts its threads (arenas already made stay)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_ARENA_MAX, arenas))
