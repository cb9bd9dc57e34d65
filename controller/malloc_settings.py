"""glibc's allocator set for a long-running, many-threaded server that handles bursts of large
arrays.

- **Two arenas.** The controller runs many threads (the HTTP worker pool, the MQTT network loop,
  the dispatcher, the scheduler, an upload's audio chain). glibc gives threads arenas of their
  own, up to eight per core, and memory freed in one arena is not reused for another thread's
  allocations, so the peak grows with the threads that were busy at once.
- **A fixed mmap threshold.** An upload's chain allocates and frees arrays of megabytes. After
  the first such array is freed, glibc raises its mmap threshold (up to 32 MB), so the next ones
  come from the heap, where freed space is kept rather than given back; a fixed threshold keeps
  every large array in its own mapping, returned to the system when it is freed.

Measured with ``bench.scale`` at 1,000 points (BENCHMARKS.md, "Scale"): a controller peak of
361 MB with glibc's defaults, 282-328 MB with these settings (four runs), the same latencies.
An operator's own ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` win; other C libraries are
left alone.
"""

from __future__ import annotations

import os

from audio.heap import glibc_mallopt

ARENAS = 2
MMAP_THRESHOLD = 1 << 20  # arrays from 1 MiB up: a second of 48 kHz float32 audio is 192 KB
_M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3


def apply(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> dict[str, bool]:
    """Set what the operator has not; which settings glibc took. Call it before the process
    starts its threads (arenas already made stay)."""
    took = {"arenas": False, "mmap_threshold": False}
    mallopt = glibc_mallopt()
    if mallopt is None:  # not glibc
        return took
    if "MALLOC_ARENA_MAX" not in os.environ:
        took["arenas"] = bool(mallopt(_M_ARENA_MAX, arenas))
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        took["mmap_threshold"] = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))
    return took
