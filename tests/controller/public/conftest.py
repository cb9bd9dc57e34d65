"""The controller's app on the test commune (real SQLite, no broker), as a phone reaches it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.config import ControllerConfig
from tests.controller.commune import Commune

PUBLIC_URL = "https://loa.xa-mau.example.vn"


@pytest.fixture
def config(commune: Commune) -> ControllerConfig:
    return commune.config.model_copy(update={"public_url": PUBLIC_URL})


@pytest.fixture
def client(config: ControllerConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config, start_dispatcher=False)) as made:
        yield made
