"""Fixtures for the installers' tests: an offline wheel of this tree, a throw-away Pi, and one
server installed twice, shared by their modules."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.fakes import calls
from tests.deploy.node_root import Pi, make_pi
from tests.deploy.server_machine import (
    DOMAIN,
    PUBLIC_IP,
    Installed,
    Python,
    make_python,
    new_machine,
    snapshot,
)
from tests.support.wheels import build_wheel


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


@pytest.fixture(scope="session")
def server_python(tmp_path_factory: pytest.TempPathFactory) -> Python:
    return make_python(tmp_path_factory.mktemp("server-python"))


@pytest.fixture(scope="session")
def server_installed(tmp_path_factory: pytest.TempPathFactory, server_python: Python) -> Installed:
    """A fresh root after the installer ran twice with the same options."""
    machine = new_machine(tmp_path_factory.mktemp("server"), server_python)
    args = ("--domain", DOMAIN, "--host", PUBLIC_IP, "--commune", "Xã Thử")
    first = machine.run(*args)
    first_calls = calls(machine.state)
    tree1 = snapshot(machine.root)
    second = machine.run(*args)
    return Installed(
        machine,
        first,
        second,
        first_calls,
        calls(machine.state)[len(first_calls) :],
        tree1,
        snapshot(machine.root),
    )
