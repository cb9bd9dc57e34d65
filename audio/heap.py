"""Let a short-lived processing command reuse the memory it frees instead of faulting in more.

glibc's malloc hands large blocks to ``mmap`` and gives them back to the kernel on ``free``, and
trims the heap's free top once it passes twice the largest block so far. The chain allocates
and frees blocks of a few MB all through (the input's meter batches, the denoiser's chunks,
the gain search), so each new block is fresh pages: 10 minutes to WAV took about 100,000 minor
page faults and 0.5-0.7 s of system time, a fifth of the whole command (BENCHMARKS.md, "Audio
chain speed and memory"). With blocks up to glibc's 64-bit ceiling (32 MB) served from the heap
and the heap kept until 256 MB lie free at its top, the same run takes about 25,000 faults and
0.15-0.35 s: what is freed is reused, not returned and faulted in again. The price is peak RSS,
up to 10 % higher (228-271 MB against 240-254 MB over the runs measured): a block kept in
the heap does not always fit the next shape asked for.

Only for a process that ends when its file is done (``loa process``): a long-lived one (the
controller) would hold its largest moment's heap for good.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> parameter numbers
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: mallopt refuses more
_TRIM_THRESHOLD = 256 << 20


def glibc_mallopt() -> Callable[[int, int], int] | None:
    """The C library's ``mallopt`` on Linux, None where there is none to call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    call: Callable[[int, int], int] = mallopt
    return call


def keep_freed_memory() -> bool:
    """Serve blocks up to 32 MB from the heap and keep up to 256 MB of it free; True when
    the C library took the settings made (glibc), False elsewhere (nothing changed). An
    operator's own ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` win."""
    mallopt = glibc_mallopt()
    if mallopt is None:
        return False
    settings = [
        (env, param, value)
        for env, param, value in (
            ("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
            ("MALLOC_TRIM_THRESHOLD_", _M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
        )
        if env not in os.environ
    ]
    # musl's mallopt is a stub that returns 0: then nothing is claimed
    return all([bool(mallopt(param, value)) for _, param, value in settings])
