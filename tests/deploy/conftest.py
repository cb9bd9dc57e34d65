"""Fixtures for the installers' tests: an offline wheel of this tree, a throw-away Pi."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.node_root import Pi, build_wheel, make_pi


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def pi(tmp_path: Path, wheel: Path) -> Pi:
    return make_pi(tmp_path / "pi", wheel)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory the unit's user can reach (pytest's own temp dirs are root's alone)."""
    with tempfile.TemporaryDirectory(prefix="loa-pi-") as name:
        os.chmod(name, 0o711)
        yield Path(name)
