"""Every HTTP route, found by walking the app (the OpenAPI document for /api/v1, the app's routes
for the pages), asks who is calling; every route that can make a loudspeaker speak refuses
each role the permission table (controller/permissions.py) leaves out. A route added later
fails here until it is classified below. Real app, real SQLite, no broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import WebSocketRoute

from controller.api.app import create_app
from controller.auth import ROLES, issue_token, token_digest
from controller.models import Alert, Bulletin, OutboxCommand, User, WebSession
from controller.permissions import PERMISSIONS
from controller.web import sessions
from controller.web.i18n import catalogue
from tests.controller.commune import Commune

Route = tuple[str, str]  # (method, path as declared)

# Routes anyone may call, each with the reason. Nothing here changes data or sounds anything.
PUBLIC: dict[Route, str] = {
    ("GET", "/openapi.json"): "describes the API; grants nothing",
    ("GET", "/docs"): "the API's description as a page",
    ("MOUNT", "/docs-assets"): "Swagger UI's scripts for /docs, served offline",
    ("GET", "/favicon.ico"): "the app's icon",
    ("GET", "/api/v1/health"): "monitoring: says only that the controller runs",
    ("GET", "/login"): "the login form",
    ("POST", "/login"): "how one gets a session (throttled, see test_login)",
    ("GET", "/lang/{code}"): "sets the language cookie; changes no data",
    ("MOUNT", "/static"): "style sheets, scripts and icons of the pages",
    ("POST", "/api/v1/enrol"): "a one-time code is the credential (throttled, see test_enrol)",
    ("GET", "/api/v1/cap/alerts.atom"): "CAP out: alerts that were sent, for everyone",
    ("GET", "/api/v1/cap/alerts/{alert_id}.xml"): "CAP out: one sent alert",
    ("GET", "/api/v1/cap/alerts/{alert_id}/cancel.xml"): "CAP out: the cancel of a sent alert",
    ("GET", "/listen/{zone_code}/subscribe"): "the SMS subscription form",
    ("POST", "/listen/{zone_code}/subscribe"): "subscribes only with the code sent to the number "
    "(throttled, see test_subscriptions)",
    ("GET", "/listen/unsubscribe/{token}"): "asks before unsubscribing; changes nothing",
    ("POST", "/listen/unsubscribe/{token}"): "the keyed token in the SMS is the credential",
    ("POST", "/api/v1/sms/inbound"): "the gateway's inbound secret is the credential; it can "
    "only end subscriptions",
    ("GET", "/listen/{zone_code}/report"): "a villager's fault report form",
    ("POST", "/listen/{zone_code}/report"): "stores a fault report only: signed form, "
    "rate-limited (see tests/controller/public/test_fault_form.py)",
    ("GET", "/listen/{zone_code}/report/sent"): "thanks for a report",
    ("GET", "/listen"): "listen again: only public bulletins that aired (tests/controller/public)",
    ("GET", "/listen/{zone_code}"): "listen again in one village, as /listen",
    ("GET", "/listen/feed.xml"): "the podcast feed of what /listen shows",
    ("GET", "/listen/{zone_code}/feed.xml"): "the podcast feed of one village",
    ("GET", "/listen/audio/{name}"): "the audio of a listed bulletin only; 404 for any other",
    ("GET", "/listen/cover.png"): "the podcast's cover: the commune's name",
}

# Every route that changes something, by what it can do to a loudspeaker. A route that makes
# one speak names the permission it takes; a route that cannot says why.
SPEAKS: dict[Route, str] = {
    ("POST", "/api/v1/bulletins"): "review",  # sending at once; holding takes "compose"
    ("POST", "/api/v1/alerts"): "emergency",
    ("POST", "/api/v1/alerts/{alert_id}/confirm"): "emergency",
    ("POST", "/api/v1/cap"): "emergency",
    ("POST", "/api/v1/live"): "live",
    ("POST", "/api/v1/nodes/{node_id}/volume"): "nodes.control",
    ("POST", "/api/v1/nodes/{node_id}/test-tone"): "nodes.control",
    ("POST", "/api/v1/nodes/{node_id}/stop"): "nodes.control",
    ("POST", "/api/v1/releases/{version}/rollout"): "admin",  # restarts every point named
    ("PUT", "/api/v1/programme/slots/{slot_id}"): "programme.edit",
    ("PUT", "/api/v1/programme/quiet-hours"): "programme.edit",
    ("POST", "/api/v1/programme/items"): "programme.edit",
    ("DELETE", "/api/v1/programme/items/{item_id}"): "programme.edit",
    ("PUT", "/api/v1/programme/items/{item_id}"): "programme.edit",
    ("DELETE", "/api/v1/programme/slots/{slot_id}"): "programme.edit",
    ("POST", "/api/v1/relays"): "relay",  # a station on every horn named, for its window
    ("PUT", "/api/v1/relays/{relay_id}"): "relay",
    ("DELETE", "/api/v1/relays/{relay_id}"): "relay",
    ("POST", "/programme/relays"): "relay",
    ("POST", "/programme/relays/{relay_id}"): "relay",
    ("POST", "/programme/relays/{relay_id}/remove"): "relay",
    ("POST", "/bulletins/draft"): "compose",
    ("POST", "/bulletins/{bulletin_id}/submit"): "compose",
    ("POST", "/review/{bulletin_id}/{decision}"): "review",
    ("POST", "/programme/items/{item_id}/move"): "programme.edit",
    ("POST", "/programme/items/{item_id}/remove"): "programme.edit",
    ("POST", "/programme/slots"): "programme.edit",
    ("POST", "/programme/slots/{slot_id}"): "programme.edit",
    ("POST", "/programme/slots/{slot_id}/remove"): "programme.edit",
    ("POST", "/programme/quiet-hours"): "programme.edit",
    ("POST", "/programme/repeats"): "programme.edit",
    ("POST", "/programme/repeats/{item_id}"): "programme.edit",
    ("POST", "/nodes/{node_id}/volume"): "nodes.control",
    ("POST", "/nodes/{node_id}/test-tone"): "nodes.control",
    ("POST", "/nodes/{node_id}/stop"): "nodes.control",
    ("POST", "/emergency/review"): "emergency",
    ("POST", "/emergency/send"): "emergency",
    ("POST", "/emergency/{alert_id}/confirm"): "emergency",
    ("WEBSOCKET", "/on-air/socket"): "live",  # the live page's microphone
}
QUIET: dict[Route, str] = {
    ("POST", "/login"): "opens a session",
    ("POST", "/logout"): "closes one's own session",
    ("POST", "/api/v1/enrol"): "hands a new Pi its bundle; the code was issued by an admin",
    ("POST", "/bulletins/speech-preview"): "speech for the author's own ear, in the browser",
    ("POST", "/bulletins/speech-text"): "the words the engine would say, as text; stores nothing",
    ("PATCH", "/api/v1/bulletins/{bulletin_id}"): "changes or resubmits one's own draft; "
    "approval stays an approver's (tests/controller/api/test_drafts_api.py)",
    ("DELETE", "/api/v1/bulletins/{bulletin_id}"): "deletes one's own draft that never aired",
    ("POST", "/bulletins/{bulletin_id}/delete"): "deletes one's own draft, as the API's DELETE",
    ("POST", "/templates"): "a notice or alert template: text to fill in, plays nothing",
    ("POST", "/templates/{template_id}"): "changes a template (templates.edit)",
    ("POST", "/templates/{template_id}/delete"): "deletes a template (templates.edit)",
    ("POST", "/bulletins/{bulletin_id}/public"): "what the listen-again pages list (review)",
    ("POST", "/api/v1/alerts/{alert_id}/cancel"): "silences; one account may stop a false alarm",
    ("POST", "/api/v1/live/{session_id}/stop"): "silences: ends a live session (live)",
    ("POST", "/emergency/{alert_id}/cancel"): "silences, as the API's cancel",
    ("POST", "/admin/users"): "accounts (admin)",
    ("POST", "/admin/users/{user_id}/role"): "accounts (admin)",
    ("POST", "/admin/users/{user_id}/active"): "accounts (admin)",
    ("POST", "/admin/users/{user_id}/password"): "accounts (admin)",
    ("POST", "/listen/{zone_code}/subscribe"): "who gets an alert by SMS, not what speaks",
    ("POST", "/listen/unsubscribe/{token}"): "who gets an alert by SMS",
    ("POST", "/api/v1/sms/inbound"): "ends SMS subscriptions (HUY)",
    ("POST", "/admin/subscriptions"): "SMS subscriptions (admin)",
    ("POST", "/admin/subscriptions/{subscription_id}/end"): "SMS subscriptions (admin)",
    ("POST", "/listen/{zone_code}/report"): "a villager's fault report: tells, sounds nothing",
    ("POST", "/faults/{report_id}/done"): "marks a fault report done (admin)",
    ("POST", "/notifications/read"): "marks one's own notifications read",
    ("POST", "/notifications/push"): "where one's own notifications are pushed",
    ("POST", "/notifications/push/remove"): "stops pushing one's own notifications",
}
CHANGES = {"POST", "PUT", "PATCH", "DELETE", "WEBSOCKET"}


def routes(app: FastAPI) -> set[Route]:
    """Every (method, path) the app answers; mounts as ("MOUNT", path)."""
    found: set[Route] = set()
    for context in iter_route_contexts(app.routes):
        path, methods = context.path or "", context.methods
        if isinstance(context.original_route, WebSocketRoute):
            found.add(("WEBSOCKET", path))  # refusals: tests/controller/web/test_on_air_socket.py
            continue
        if methods is None:
            found.add(("MOUNT", path))
        found |= {(m, path) for m in methods or () if m != "HEAD"}
    return found


def concrete(path: str) -> str:
    """A path with every parameter filled: the caller is asked about before the id is looked at."""
    parts = path.split("/")
    return "/".join("1" + p[p.index("}") + 1 :] if p.startswith("{") else p for p in parts)


@pytest.fixture
def app(commune: Commune) -> FastAPI:
    return create_app(commune.config, start_dispatcher=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as made:
        yield made


def unclassified(app: FastAPI) -> set[Route]:
    return {r for r in routes(app) if r[0] in CHANGES} - SPEAKS.keys() - QUIET.keys()


def test_every_route_is_classified(app):
    """A new route fails here until it is listed: public (with why), or, if it changes
    anything, as speaking (with its permission) or quiet (with why)."""
    assert not unclassified(app), (
        f"classify these routes in {__name__}: SPEAKS (with the permission of "
        f"controller/permissions.py that it takes) or QUIET (with why): {sorted(unclassified(app))}"
    )
    stale = (PUBLIC.keys() | SPEAKS.keys() | QUIET.keys()) - routes(app)
    assert not stale, f"listed here but gone from the app: {sorted(stale)}"
    assert set(SPEAKS.values()) <= PERMISSIONS.keys()


def open_api_operations(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document lists, public ones left out,
    that answers something other than 401 without a token or with a wrong one."""
    schema = client.get("/openapi.json").json()
    operations = [
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    ]
    assert len(operations) > 20  # the walk found the API
    return [
        (method, path)
        for method, path in operations
        if (method, path) not in PUBLIC
        for headers in ({}, {"Authorization": "Bearer not-a-token"})
        if client.request(method, concrete(path), headers=headers).status_code != 401
    ]


def open_pages(app: FastAPI, client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every page, public ones left out, that neither sends a caller without
    a live session (none, or a forged cookie) to the login form nor answers 401."""
    pages = {
        (m, p) for m, p in routes(app) if not p.startswith("/api/") and m != "WEBSOCKET"
    } - PUBLIC.keys()
    assert len(pages) > 30  # the walk found the pages
    found = []
    for method, path in sorted(pages):
        for cookies in ({}, {sessions.COOKIE: "forged-session"}):
            client.cookies.clear()
            client.cookies.update(cookies)
            resp = client.request(method, concrete(path))
            to_login = resp.status_code == 303 and resp.headers["location"].startswith("/login")
            if not (to_login or resp.status_code == 401):
                found.append((method, path))
    return found


def test_every_api_operation_refuses_a_caller_without_a_valid_token(client):
    assert open_api_operations(client) == []


def test_every_page_sends_a_caller_without_a_session_to_the_login_form(app, client):
    assert open_pages(app, client) == []


def test_a_route_added_without_auth_or_a_class_is_caught(app, client):
    """What the three tests above do when someone adds a route and forgets."""

    def air_now(bulletin_id: str) -> dict[str, str]:
        return {"aired": bulletin_id}

    def played() -> dict[str, str]:
        return {}

    app.add_api_route("/api/v1/bulletins/{bulletin_id}/air-now", air_now, methods=["POST"])
    app.add_api_route("/played", played, methods=["GET"], include_in_schema=False)

    assert ("POST", "/api/v1/bulletins/{bulletin_id}/air-now") in unclassified(app)
    assert ("POST", "/api/v1/bulletins/{bulletin_id}/air-now") in open_api_operations(client)
    assert ("GET", "/played") in open_pages(app, client)


# --- roles ----------------------------------------------------------------------------------------


def speaking_refused() -> list[tuple[str, str, str]]:
    """(method, path, role) for every speaking route and every role its permission leaves out.
    The emergency permission leaves none out: every person's account may raise an alert, and
    the two-person rule is what holds it back (tests/controller/api/test_cap_access.py)."""
    return [
        (method, path, role)
        for (method, path), permission in SPEAKS.items()
        for role in ROLES
        if role not in PERMISSIONS[permission]
    ]


def account(commune: Commune, role: str) -> User:
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.role == role).order_by(User.id)).first()
        assert user is not None, f"the commune has no {role}"
        s.expunge(user)
        return user


def api_headers(commune: Commune, user: User) -> dict[str, str]:
    with commune.db.session() as s:
        return {"Authorization": f"Bearer {issue_token(s, s.get_one(User, user.id))}"}


def page_session(commune: Commune, user: User) -> tuple[str, str]:
    """A live session cookie for ``user`` and its CSRF token."""
    with commune.db.session() as s:
        token = sessions.open_session(s, commune.config, s.get_one(User, user.id))
    with commune.db.session() as s:
        row = s.get_one(WebSession, token_digest(token))
        return token, row.csrf


def what_speaks(commune: Commune) -> tuple[int, int, int]:
    with commune.db.session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(table)) or 0
            for table in (OutboxCommand, Bulletin, Alert)
        )


# What a form for each speaking route would carry: enough that only the role stands in the way.
BODIES: dict[Route, dict[str, Any]] = {
    ("POST", "/api/v1/bulletins"): {"data": {"text": "Thông báo", "all": "true"}},
}


@pytest.mark.parametrize(("method", "path", "role"), speaking_refused())
def test_a_role_without_the_permission_cannot_make_a_loudspeaker_speak(
    commune, client, method, path, role
):
    user = account(commune, role)
    before = what_speaks(commune)
    client.cookies.clear()
    body = BODIES.get((method, path), {})
    if path.startswith("/api/"):
        resp = client.request(method, concrete(path), headers=api_headers(commune, user), **body)
        assert resp.status_code == 403, resp.text
    else:
        cookie, csrf = page_session(commune, user)
        client.cookies.set(sessions.COOKIE, cookie)
        resp = client.request(
            method, concrete(path), headers={"X-CSRF-Token": csrf}, data={"csrf": csrf}
        )
        assert resp.status_code == 403, resp.text
        forbidden = catalogue()["error.forbidden"].values()
        assert any(text in resp.text for text in forbidden), "refused, but not for the role"
    assert what_speaks(commune) == before


def test_holding_a_bulletin_is_refused_to_a_role_that_may_not_compose(commune, client):
    """The bulletins API takes "compose" to hold a recording and "review" to send it."""
    approver = account(commune, "approver")
    resp = client.post(
        "/api/v1/bulletins",
        headers=api_headers(commune, approver),
        data={"text": "Thông báo", "hold": "true"},
    )
    assert resp.status_code == 403, resp.text
