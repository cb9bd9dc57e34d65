"""Asking the system: a command run with a time limit, whose failure means "unknown".

A node asks chrony, systemd and ModemManager about itself on every state it sends; a missing
program, a hung daemon or a non-zero exit must cost at most ``timeout_s`` and never stop the
agent, so every failure here is ``None``.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 2.0
MAX_OUTPUT_CHARS = 65_536  # far more than any of the reports we read; the rest is ignored


def run_command(argv: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> str | None:
    """The standard output of ``argv``, or None when it is absent, fails or takes too long."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        log.warning("%s took more than %.1f s; its reading is unknown", argv[0], timeout_s)
        return None
    except OSError as exc:
        log.warning("cannot run %s: %s", argv[0], exc)
        return None
    if done.returncode != 0:
        log.debug("%s exited with %d: %s", argv[0], done.returncode, done.stderr.strip()[:200])
        return None
    return done.stdout[:MAX_OUTPUT_CHARS]
