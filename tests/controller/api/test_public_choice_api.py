"""The "public" choice through the API: on by default, off for an internal notice."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.controller.api.test_api_input import tone_wav


@pytest.mark.parametrize(("form", "public"), [({}, True), ({"public": "false"}, False)])
def test_a_bulletin_is_public_unless_said_otherwise(
    api: tuple[TestClient, Path], form: dict[str, str], public: bool
) -> None:
    client, _ = api
    made = client.post(
        "/api/v1/bulletins", files={"file": ("a.wav", tone_wav())}, data={"hold": "true", **form}
    )
    assert made.status_code == 201, made.text
    assert made.json()["public"] is public
    assert client.get(f"/api/v1/bulletins/{made.json()['id']}").json()["public"] is public


def test_a_public_choice_that_is_not_yes_or_no_is_refused(api: tuple[TestClient, Path]) -> None:
    client, _ = api
    made = client.post(
        "/api/v1/bulletins",
        files={"file": ("a.wav", tone_wav())},
        data={"hold": "true", "public": "maybe"},
    )
    assert made.status_code == 422
    assert client.get("/api/v1/bulletins").json() == []
