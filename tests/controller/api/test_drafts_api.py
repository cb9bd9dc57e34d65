"""PATCH and DELETE /api/v1/bulletins/{id}: a broadcaster changes, resubmits and deletes their
own drafts through the API under the same rules as the web app; titles follow one limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from controller.broadcast.titles import MAX_TITLE
from controller.db import Database
from controller.models import AuditEntry, Bulletin
from controller.nodes.bootstrap import load_config
from tests.controller.api.test_api_input import token_for, tone_wav
from tests.support import stored_row

WAV = {"file": ("thong-bao_hop-dan.wav", tone_wav(), "audio/wav")}
REQUEST = {"where": {"all": True}, "when": {"kind": "now"}, "priority": "normal"}


def set_status(root: Path, bulletin_id: str, status: str) -> None:
    """As the web app leaves it: a draft made on the compose page, or a decided one."""
    db = Database(load_config(root).db_url)
    with db.session() as s:
        s.get_one(Bulletin, bulletin_id).status = status
    db.engine.dispose()


def stored(root: Path, bulletin_id: str) -> Bulletin | None:
    return stored_row(load_config(root).db_url, Bulletin, bulletin_id)


@pytest.fixture
def drafting(api):
    """The client, the data folder, a broadcaster's headers and one of their drafts."""
    client, root = api
    headers = {"Authorization": f"Bearer {token_for(root, 'lan', 'broadcaster')}"}
    made = client.post("/api/v1/bulletins", files=WAV, data={"hold": "true"}, headers=headers)
    assert made.status_code == 201, made.text
    set_status(root, made.json()["id"], "draft")
    return client, root, headers, made.json()


def test_an_upload_without_a_title_is_named_from_its_file_and_a_long_title_is_refused(drafting):
    client, _root, headers, draft = drafting
    assert draft["title"] == "thong bao hop dan"
    count = len(client.get("/api/v1/bulletins").json())
    too_long = client.post(
        "/api/v1/bulletins",
        files=WAV,
        data={"hold": "true", "title": "x" * (MAX_TITLE + 1)},
        headers=headers,
    )
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "title.too_long"
    assert str(MAX_TITLE) in too_long.json()["detail"]
    assert len(client.get("/api/v1/bulletins").json()) == count  # nothing stored, nothing cut
    neither = client.post("/api/v1/bulletins", data={"hold": "true"}, headers=headers)
    assert neither.status_code == 422
    assert neither.json()["code"] == "audio.source"  # what is missing is the sound, not a title


def test_the_author_changes_the_title_and_resubmits_with_a_request(drafting):
    client, root, headers, draft = drafting
    url = f"/api/v1/bulletins/{draft['id']}"
    changed = client.patch(url, json={"title": "Họp dân thôn Đông"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["status"]) == ("Họp dân thôn Đông", "draft")
    sent = client.patch(url, json={"request": REQUEST, "submit": True}, headers=headers)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "pending"
    again = client.patch(url, json={"title": "Sửa khi đang chờ"}, headers=headers)
    assert again.status_code == 409
    assert stored(root, draft["id"]).title == "Họp dân thôn Đông"  # type: ignore[union-attr]


def test_too_long_titles_unknown_fields_and_other_peoples_drafts_are_refused(drafting):
    client, root, headers, draft = drafting
    url = f"/api/v1/bulletins/{draft['id']}"
    long = client.patch(url, json={"title": "y" * (MAX_TITLE + 1)}, headers=headers)
    assert long.status_code == 422
    assert long.json()["code"] == "title.too_long"
    assert client.patch(url, json={"colour": "red"}, headers=headers).status_code == 422
    other = {"Authorization": f"Bearer {token_for(root, 'minh', 'broadcaster')}"}
    assert client.patch(url, json={"title": "Của tôi"}, headers=other).status_code == 403
    approver = {"Authorization": f"Bearer {token_for(root, 'hoa', 'approver')}"}
    assert client.patch(url, json={"title": "Duyệt"}, headers=approver).status_code == 403
    no_request = client.patch(url, json={"submit": True}, headers=headers)
    assert no_request.status_code == 422
    assert no_request.json()["code"] == "request.missing"
    assert stored(root, draft["id"]).title == draft["title"]  # type: ignore[union-attr]
    assert stored(root, draft["id"]).status == "draft"  # type: ignore[union-attr]


@pytest.mark.parametrize("status", ["approved", "sent"])
def test_editing_an_approved_or_sent_bulletin_is_refused_with_a_message(drafting, status):
    client, root, headers, draft = drafting
    set_status(root, draft["id"], status)
    resp = client.patch(f"/api/v1/bulletins/{draft['id']}", json={"title": "Mới"}, headers=headers)
    assert resp.status_code == 409
    assert resp.json()["code"] == "bulletin.not_editable"
    assert "make a new one" in resp.json()["detail"]


def test_delete_takes_the_author_or_an_admin_and_only_an_unsent_draft(drafting):
    client, root, headers, draft = drafting
    url = f"/api/v1/bulletins/{draft['id']}"
    other = {"Authorization": f"Bearer {token_for(root, 'minh', 'broadcaster')}"}
    assert client.delete(url, headers=other).status_code == 403
    set_status(root, draft["id"], "sent")
    assert client.delete(url, headers=headers).status_code == 409
    assert stored(root, draft["id"]) is not None
    set_status(root, draft["id"], "rejected")
    audio = root / "audio" / f"{draft['audio_sha256']}.ogg"
    assert audio.exists()
    assert client.delete(url, headers=headers).status_code == 204
    assert stored(root, draft["id"]) is None
    assert client.get(url).status_code == 404
    assert not audio.exists()
    db = Database(load_config(root).db_url)
    with db.session() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.target == draft["id"]))
        assert "bulletin.delete" in list(actions)
    db.engine.dispose()
