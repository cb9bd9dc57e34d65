"""The "public" choice in the web app: ticked by default on the request form, unticked for an
internal notice, and an approver can take an aired bulletin off the public pages at once (real
app, real SQLite, real sessions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.api.app import create_app
from controller.config import ControllerConfig
from controller.models import Alert, AuditEntry, Bulletin, User, WebSession
from controller.web import sessions
from tests.controller.commune import Commune
from tests.controller.public.village import put_on_air, raise_alert

Login = Callable[[str], tuple[TestClient, str]]


@pytest.fixture
def login(commune: Commune, config: ControllerConfig) -> Iterator[Login]:
    """A client logged in as the named account, with its session's CSRF token."""
    clients: list[TestClient] = []

    def open_as(username: str) -> tuple[TestClient, str]:
        with commune.db.session() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            token = sessions.open_session(s, config, user)
        with commune.db.session() as s:
            csrf = s.scalars(select(WebSession.csrf).where(WebSession.user_id == user.id)).one()
        client = TestClient(create_app(config, start_dispatcher=False))
        client.__enter__()
        clients.append(client)
        client.cookies.set(sessions.COOKIE, token)
        return client, csrf

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def public_of(commune: Commune, bulletin_id: str) -> bool:
    with commune.db.session() as s:
        bulletin = s.get(Bulletin, bulletin_id)
        assert bulletin is not None
        return bulletin.public


REQUEST = {"where": "all", "when": "now", "priority": "normal"}


def test_the_request_form_offers_public_ticked_by_default(
    commune: Commune, config: ControllerConfig, login: Login
) -> None:
    draft = put_on_air(config, commune.db, status="draft", zones=())
    client, _ = login("phatthanh")
    html = client.get(f"/bulletins/{draft}").text
    assert 'name="public" value="1" checked' in html


@pytest.mark.parametrize(("ticked", "public"), [({"public": "1"}, True), ({}, False)])
def test_sending_for_approval_records_the_choice(
    commune: Commune,
    config: ControllerConfig,
    login: Login,
    ticked: dict[str, str],
    public: bool,
) -> None:
    draft = put_on_air(config, commune.db, status="draft", zones=())
    client, csrf = login("phatthanh")
    answer = client.post(
        f"/bulletins/{draft}/submit",
        data={**REQUEST, **ticked, "csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert public_of(commune, draft) is public


def test_a_refused_request_changes_nothing(
    commune: Commune, config: ControllerConfig, login: Login
) -> None:
    draft = put_on_air(config, commune.db, status="draft", zones=())
    client, csrf = login("phatthanh")
    answer = client.post(
        f"/bulletins/{draft}/submit", data={"when": "now", "csrf": csrf}, follow_redirects=False
    )
    assert answer.status_code == 422
    assert public_of(commune, draft) is True
    assert 'name="public" value="1"' in answer.text


def test_an_approver_takes_an_aired_bulletin_off_the_public_pages(
    commune: Commune, config: ControllerConfig, login: Login
) -> None:
    aired = put_on_air(config, commune.db, title="Tin sai cần gỡ")
    client, csrf = login("pheduyet")
    assert "Tin sai cần gỡ" in client.get("/listen").text
    answer = client.post(f"/bulletins/{aired}/public", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert public_of(commune, aired) is False
    assert "Tin sai cần gỡ" not in client.get("/listen").text
    assert client.get(f"/listen/audio/{aired}.mp3").status_code == 404
    with commune.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.public")).one()
        assert (entry.actor, entry.target, entry.detail) == ("pheduyet", aired, {"public": False})
    client.post(f"/bulletins/{aired}/public", data={"csrf": csrf, "public": "1"})
    assert public_of(commune, aired) is True


def test_a_broadcaster_cannot_and_an_alert_stays_public(
    commune: Commune, config: ControllerConfig, login: Login
) -> None:
    aired = put_on_air(config, commune.db)
    broadcaster, csrf = login("phatthanh")
    refused = broadcaster.post(f"/bulletins/{aired}/public", data={"csrf": csrf})
    assert refused.status_code == 403
    assert public_of(commune, aired) is True
    alert_id = raise_alert(config, commune.db, "Lũ quét")
    with commune.db.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        alert_bulletin = alert.bulletin_id
    approver, csrf = login("pheduyet")
    answer = approver.post(f"/bulletins/{alert_bulletin}/public", data={"csrf": csrf})
    assert answer.status_code == 409
    assert "Lũ quét" in approver.get("/listen").text


def test_without_the_session_token_nothing_changes(
    commune: Commune, config: ControllerConfig, login: Login
) -> None:
    aired = put_on_air(config, commune.db)
    client, _ = login("pheduyet")
    assert client.post(f"/bulletins/{aired}/public", data={}).status_code == 403
    assert public_of(commune, aired) is True


@pytest.mark.parametrize(("public", "words"), [(True, "Công khai: có"), (False, "nội bộ")])
def test_the_approver_sees_the_choice_before_approving(
    commune: Commune, config: ControllerConfig, login: Login, public: bool, words: str
) -> None:
    draft = put_on_air(config, commune.db, status="draft", zones=())
    author, csrf = login("phatthanh")
    form = {**REQUEST, "csrf": csrf, **({"public": "1"} if public else {})}
    assert author.post(f"/bulletins/{draft}/submit", data=form).status_code == 200
    approver, _ = login("pheduyet")
    card = approver.get("/review").text
    assert words in card[card.index(draft) :]
