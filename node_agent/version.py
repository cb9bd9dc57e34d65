"""The software version a node runs, from the installed package's metadata: the figure an
update changes, so it is read from what is installed, not from a constant in the source."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "loalang"
MAX_VERSION_CHARS = 40  # NodeState.agent_version


@cache  # reading metadata scans the path; an update installs a new venv and restarts anyway
def installed_version(distribution: str = DISTRIBUTION) -> str:
    """``0.1.0``; ``unknown`` when the package is not installed (run from a source tree)."""
    try:
        return version(distribution)[:MAX_VERSION_CHARS]
    except PackageNotFoundError:
        return "unknown"
