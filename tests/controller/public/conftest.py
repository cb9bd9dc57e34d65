"""The controller app on a copy of the test commune (real SQLite, no broker), as villagers'
phones reach it: no login, no cookies kept between requests; ``phone`` gives one client per
source address."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from controller.api.app import create_app
from controller.config import ControllerConfig
from controller.models import FaultReport
from tests.controller.commune import Commune

PUBLIC_URL = "https://loa.xa-mau.example.vn"
Phone = Callable[..., TestClient]  # phone(address="10.0.0.1")


@pytest.fixture
def config(commune: Commune) -> ControllerConfig:
    return commune.config.model_copy(update={"public_url": PUBLIC_URL})


@pytest.fixture
def client(config: ControllerConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config, start_dispatcher=False)) as made:
        yield made


@pytest.fixture
def phone(commune: Commune) -> Iterator[Phone]:
    """``phone("10.0.0.7")``: a client whose requests come from that address."""
    app = create_app(commune.config, start_dispatcher=False)
    clients: list[TestClient] = []

    def make(address: str = "10.0.0.1") -> TestClient:
        client = TestClient(app, client=(address, 40000), follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, "the form has no token"
    return found[1]


def stored(commune: Commune) -> int:
    with commune.db.session() as s:
        return s.scalar(select(func.count()).select_from(FaultReport)) or 0
