"""Domain refusals become HTTP in one place each: the API answers in its own wording, the pages
in the viewer's language, both with the status of the kind of refusal."""

from __future__ import annotations

import html

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from controller import errors
from controller.api.app import refusal
from controller.api.errors import status_of
from controller.config import ControllerConfig
from controller.db import Database
from controller.nodes.controls import parse_int

EN = "no loudspeaker point loa-99"
VI = "Không có điểm loa loa-99"


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The controller's own handler on an app whose routes only refuse (the database is never
    opened: a visitor without a session is shown the error page as is)."""
    app = FastAPI()
    app.state.config = ControllerConfig()
    app.state.db = Database("sqlite://")
    app.add_exception_handler(errors.DomainError, refusal)

    def refuse() -> None:
        raise errors.NotFoundError("node.unknown", EN, VI)

    app.add_api_route("/api/v1/nodes/loa-99", refuse)
    app.add_api_route("/nodes/loa-99", refuse)
    return app


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (errors.InvalidInputError, 422),
        (errors.NotFoundError, 404),
        (errors.ForbiddenError, 403),
        (errors.ConflictError, 409),
        (errors.TooLargeError, 413),
        (errors.UnsupportedMediaError, 415),
        (errors.UnavailableError, 503),
        (errors.StorageFullError, 507),
    ],
)
def test_each_kind_of_refusal_has_its_status(kind, status):
    assert status_of(kind("x.y", "en", "vi")) == status


def test_the_api_answers_in_its_own_wording_with_the_code(app):
    r = TestClient(app, cookies={"loa_lang": "vi"}).get("/api/v1/nodes/loa-99")
    assert r.status_code == 404
    assert r.json() == {"detail": EN, "code": "node.unknown", "field": None}


@pytest.mark.parametrize(("lang", "message"), [("vi", VI), ("en", EN)])
def test_a_page_shows_the_refusal_in_the_viewers_language(app, lang, message):
    r = TestClient(app, cookies={"loa_lang": lang}).get("/nodes/loa-99")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert message in html.unescape(r.text)
    assert (EN if lang == "vi" else VI) not in html.unescape(r.text)


def test_a_pages_script_gets_the_refusal_as_json_in_the_viewers_language(app):
    r = TestClient(app).get("/nodes/loa-99", headers={"X-Requested-With": "fetch"})
    assert r.status_code == 404
    assert r.json() == {"detail": VI}


def test_a_domain_refusal_names_its_code_and_field():
    with pytest.raises(errors.InvalidInputError) as refused:
        parse_int("120", "volume", 0, 100, vi="âm lượng")
    assert refused.value.code == "node.value_range"
    assert refused.value.field == "volume"
    assert "volume must be a whole number from 0 to 100" in refused.value.en
    said = "Âm lượng phải là số nguyên từ 0 đến 100, không phải '120'"
    assert refused.value.message("vi") == said


@pytest.mark.parametrize(
    ("lang", "source", "field"), [("vi", "file", "file"), ("en", "record", "recording")]
)
def test_a_full_server_disk_is_said_as_such_on_the_compose_form(lang, source, field):
    """Not "your file is unusable": the server's disk is full, and the form says so."""
    from controller.web.pages_bulletins import pipeline_error

    full = errors.storage_full()
    assert pipeline_error(full, source, lang, ControllerConfig()) == {field: full.message(lang)}
