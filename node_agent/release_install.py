"""Installing a release beside the running one: a new virtualenv per version, offline.

Why a hard-linked copy of the running virtualenv plus ``pip install --no-deps --no-index`` of
the wheel: a Pi on 4G has no index to download dependencies from (and a commune pays for the
bytes), a fresh ``venv`` would need every dependency again, and a venv layered on the previous
one's site-packages would chain every release to all the ones before (none could ever be
removed). Hard links cost no copying and almost no space, and pip replaces the files it
installs with new ones (never rewriting a shared inode), so the old release stays exactly as
it was. Each release is then a complete virtualenv that can be started, or deleted, alone.
A release whose dependencies changed is refused by the smoke check below and stays unused.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from node_agent.release_start import CURRENT, RELEASES, current_version, release_dir

log = logging.getLogger(__name__)
PIP_TIMEOUT_S = 600.0  # a slow SD card compiling a few hundred modules
KEEP = 2  # the running release and the one before it (what a rollback goes back to)
_SHADOWING = ("PYTHONPATH", "PYTHONHOME")
# Run inside the new virtualenv: the agent must import, and be the version it claims.
_SMOKE = "import importlib.metadata as m, node_agent.agent; print(m.version('loalang'))"


class InstallError(Exception):
    """Why a release could not be installed; the old one keeps running untouched."""


def install(root: Path, version: str, wheel: Path, filename: str) -> Path:
    """Make ``releases/VERSION`` from the running release and ``wheel``; returns its path."""
    current = (root / CURRENT).resolve()
    if not (current / "bin" / "python").exists():
        raise InstallError(f"{root / CURRENT} is not a virtualenv to copy")
    target = release_dir(root, version)
    if target.resolve() == current:
        raise InstallError(f"{version} is the running release")
    # Built in place: nothing points at it until the switch, and a half-made one (a power cut)
    # is removed by the next attempt or by ``prune``. Built under its final path, the scripts
    # and compiled modules pip writes name their real location.
    shutil.rmtree(target, ignore_errors=True)
    try:
        shutil.copytree(current, target, symlinks=True, copy_function=_link_or_copy)
        named = target / filename  # pip reads the version and tags from the file name
        _link_or_copy(str(wheel), str(named))
        _run(
            target,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--force-reinstall",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            str(named),
        )
        named.unlink()
        found = _run(target, "-c", _SMOKE).strip().splitlines()[-1:]
        if found != [version]:
            raise InstallError(f"the wheel installs version {found}, not {version}")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def prune(root: Path, keep_versions: set[str]) -> list[str]:
    """Remove releases other than ``keep_versions`` and the running one; returns those removed."""
    keep = {*keep_versions, current_version(root)}
    removed = []
    for path in sorted((root / RELEASES).iterdir()):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _run(venv: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _SHADOWING}
    try:
        done = subprocess.run(
            [str(venv / "bin" / "python"), *args],
            capture_output=True,
            text=True,
            env=env,
            # ``python -c`` puts the working directory first on the path: a source tree there
            # (its loalang.egg-info) would answer for the release being checked.
            cwd=venv,
            timeout=PIP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InstallError(f"{args[1]} took longer than {PIP_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InstallError(f"{' '.join(args[:2])} failed: {' | '.join(tail)}")
    return done.stdout


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)
    return dst
