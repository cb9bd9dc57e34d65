"""Fixtures for the controller's domain: a commune on a real SQLite file, a dispatcher whose
messages go to an in-memory publisher, and the password hashes argon2 is asked to verify."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher
from tests.controller.commune import Commune, make_commune, open_copy


@pytest.fixture(scope="session")
def commune_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_commune(tmp_path_factory.mktemp("template") / "commune")


@pytest.fixture
def commune(commune_template: Path, tmp_path: Path) -> Iterator[Commune]:
    made = open_copy(commune_template, tmp_path / "commune")
    yield made
    made.db.engine.dispose()


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def dispatcher(commune: Commune, publisher: MemoryPublisher) -> Dispatcher:
    """Not started: tests hand it inbox items with ``handle``."""
    return Dispatcher(commune.config, commune.db, commune.key, publisher=publisher)


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes the real argon2 hasher is asked to verify, in order."""
    seen: list[str] = []
    real: Callable[..., bool] = PasswordHasher.verify

    def counting(self: PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        seen.append(str(stored))
        return real(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen
