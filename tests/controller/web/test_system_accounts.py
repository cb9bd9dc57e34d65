"""The accounts page with the CAP feed's system account in the database, without a browser:
the page shows it, read-only, and no form may edit it (real app, real SQLite, real sessions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.api.app import create_app
from controller.auth import ROLES, SYSTEM_ROLE
from controller.emergency import cap_ingest
from controller.models import AuditEntry, User, WebSession
from controller.web import sessions
from controller.web.i18n import LANGUAGES, catalogue
from tests.controller.commune import Commune


def test_every_role_an_account_may_hold_has_its_name_in_both_languages():
    for role in (*ROLES, SYSTEM_ROLE):
        assert set(catalogue()[f"role.{role}"]) == set(LANGUAGES)


@pytest.fixture
def as_admin(commune: Commune) -> Iterator[tuple[TestClient, str]]:
    """A client logged in as the admin, with the session's CSRF token; the CAP feed's account
    exists, as it does after the first CAP message."""
    with commune.db.session() as s:
        cap_ingest.cap_user(s)
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        token = sessions.open_session(s, commune.config, admin)
    with commune.db.session() as s:
        csrf = s.scalars(select(WebSession.csrf)).one()
    with TestClient(create_app(commune.config, start_dispatcher=False)) as client:
        client.cookies.set(sessions.COOKIE, token)
        yield client, csrf


def system_account(commune: Commune) -> User:
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == cap_ingest.CAP_USER)).one()
        s.expunge(user)
        return user


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_accounts_page_shows_the_system_account_read_only(commune, as_admin, lang):
    client, _ = as_admin
    client.cookies.set("loa_lang", lang)
    page = client.get("/admin/users")
    assert page.status_code == 200, page.text
    assert catalogue()["role.system"][lang] in page.text
    assert cap_ingest.CAP_USER in page.text
    system = system_account(commune)
    for form in ("role", "password", "active"):  # no form may edit it
        assert f"/admin/users/{system.id}/{form}" not in page.text
    admin = commune.user("admin")
    assert f"/admin/users/{admin.id}/role" in page.text  # people's accounts stay editable


@pytest.mark.parametrize(
    ("form", "data"),
    [("role", {"role": "admin"}), ("password", {"password": "mat-khau-moi-123"}), ("active", {})],
)
def test_no_form_changes_the_system_account(commune, as_admin, form, data):
    client, csrf = as_admin
    before = system_account(commune)
    resp = client.post(
        f"/admin/users/{before.id}/{form}", data={**data, "csrf": csrf}, follow_redirects=False
    )
    assert resp.status_code == 409, resp.text
    after = system_account(commune)
    assert (after.role, after.password_hash, after.active) == (
        before.role,
        before.password_hash,
        before.active,
    )
    with commune.db.session() as s:
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action.like("user.%"))).all()
