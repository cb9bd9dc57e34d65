"""Editing, resubmitting, deleting and expiring drafts, on a real database with real speech
(espeak-ng) and real files: what changes, what is refused and what stays as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from controller.broadcast import approval, drafts, editing
from controller.broadcast.approval import BroadcastRequest, When, Where
from controller.broadcast.expiry import expire_drafts
from controller.broadcast.titles import MAX_TITLE, title_from_filename, title_from_text
from controller.config import ControllerConfig
from controller.errors import ConflictError, ForbiddenError, InvalidInputError
from controller.models import AudioFile, AuditEntry, Bulletin, BulletinReview, User, now
from tests.controller.commune import Commune

TEXT = "Thông báo: chiều nay thôn Đông họp dân lúc 14 giờ tại nhà văn hóa."
NOW = BroadcastRequest(where=Where(all=True), when=When(kind="now"))


def offline(config: ControllerConfig) -> ControllerConfig:
    """Speech from espeak-ng only: no test waits on an online engine."""
    return config.model_copy(update={"tts": replace(config.tts, engines=("espeak",))})


@pytest.fixture
def config(commune: Commune) -> ControllerConfig:
    return offline(commune.config)


def user(s, name: str) -> User:
    found: User = s.scalars(select(User).where(User.username == name)).one()
    return found


def edit_as(commune: Commune, config, name: str, bulletin_id: str, **changes: str) -> None:
    with commune.db.session() as s:
        row = s.get_one(Bulletin, bulletin_id)
        editing.edit(s, config, user(s, name), row, editing.Changes(**changes))


def delete_as(commune: Commune, config, name: str, bulletin_id: str, *, then_fail=False) -> None:
    with commune.db.session() as s:
        editing.delete_bulletin(s, config, user(s, name), s.get_one(Bulletin, bulletin_id))
        if then_fail:
            raise RuntimeError("something later in the same request failed")


def spoken_draft(commune: Commune, config: ControllerConfig, text: str = TEXT) -> str:
    with commune.db.session() as s:
        made = drafts.make_draft(
            s, config, user(s, "phatthanh"), recording=None, text=text, voice="vi", title=""
        )
        return made.id


def audio_file(config: ControllerConfig, bulletin: Bulletin) -> Path:
    return config.audio_dir / f"{bulletin.audio_sha256}.ogg"


# --- titles --------------------------------------------------------------------------------


def test_a_title_made_from_the_text_is_its_first_sentence_or_words_cut_at_a_word():
    assert title_from_text("Họp dân tối nay. Mời bà con đến đông đủ.") == "Họp dân tối nay"
    long = "Thông báo về việc " + "tổ chức tiêm phòng dại cho chó mèo " * 5
    title = title_from_text(long)
    assert len(title) <= 80
    assert title.endswith("…")
    assert long.startswith(title[:-1])
    assert long[len(title) - 1] == " "  # cut between words, never inside one


def test_a_file_name_becomes_a_readable_proposal():
    assert title_from_filename("thong-bao_tiem_phong.m4a") == "thong bao tiem phong"
    assert title_from_filename("") == ""


def test_a_text_draft_without_a_title_gets_one_from_its_text_and_keeps_the_text(commune, config):
    bulletin_id = spoken_draft(commune, config)
    with commune.db.session() as s:
        b = s.get_one(Bulletin, bulletin_id)
        assert b.title == title_from_text(TEXT)
        assert b.text == TEXT


def test_a_too_long_title_is_refused_not_cut_and_nothing_is_kept(commune, config):
    with commune.db.session() as s:
        before = s.scalar(select(func.count()).select_from(Bulletin))
    with pytest.raises(InvalidInputError) as refused, commune.db.session() as s:
        drafts.make_draft(
            s,
            config,
            user(s, "phatthanh"),
            recording=None,
            text=TEXT,
            voice="vi",
            title="x" * (MAX_TITLE + 1),
        )
    assert refused.value.code == "title.too_long"
    assert str(MAX_TITLE) in refused.value.vi
    with commune.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Bulletin)) == before


# --- edit and resubmit ---------------------------------------------------------------------


def test_a_rejected_text_bulletin_is_edited_respoken_and_resubmitted_keeping_its_history(
    commune, config
):
    bulletin_id = spoken_draft(commune, config)
    with commune.db.session() as s:
        b = s.get_one(Bulletin, bulletin_id)
        approval.submit(s, user(s, "phatthanh"), b, NOW)
        approval.reject(s, user(s, "pheduyet"), b, "Sai giờ họp")
        old_audio = audio_file(config, b)
    assert old_audio.exists()

    new_text = TEXT.replace("14 giờ", "15 giờ 30")
    with commune.db.session() as s:
        b = s.get_one(Bulletin, bulletin_id)
        changed = editing.edit(
            s, config, user(s, "phatthanh"), b, editing.Changes(text=new_text, title="Họp dân")
        )
        assert changed == ["text", "title"]
        approval.submit(s, user(s, "phatthanh"), b, NOW)
    with commune.db.session() as s:
        b = s.get_one(Bulletin, bulletin_id)
        assert (b.status, b.title, b.text) == ("pending", "Họp dân", new_text)
        spoken = b.processing_report["tts"]["text"]
        assert "15" in spoken or "mười lăm" in spoken  # as typed or as normalised for speech
        assert audio_file(config, b).exists()
        assert audio_file(config, b) != old_audio
        assert not old_audio.exists()  # the replaced sound was this draft's alone
        assert s.get(AudioFile, old_audio.stem) is None
        assert (drafts.draft_dir(config, bulletin_id) / "waveform.json").exists()
        history = s.scalars(select(BulletinReview).where(BulletinReview.bulletin_id == b.id))
        assert [(r.decision, r.comment) for r in history] == [("rejected", "Sai giờ họp")]
        edits = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.edit")).all()
        assert [e.detail["changed"] for e in edits] == [["text", "title"]]


@pytest.mark.parametrize("status", ["approved", "sent", "pending"])
def test_an_approved_sent_or_pending_bulletin_cannot_be_edited(commune, config, status):
    b = commune.bulletin(status=status)
    with pytest.raises(ConflictError) as refused:
        edit_as(commune, config, "phatthanh", b.id, title="Mới")
    assert "sửa" in refused.value.vi
    with commune.db.session() as s:
        assert s.get_one(Bulletin, b.id).title == b.title


def test_only_the_author_edits_and_a_recording_has_no_text_to_change(commune, config):
    b = commune.bulletin(status="draft")
    with pytest.raises(ForbiddenError):
        edit_as(commune, config, "admin", b.id, title="A")
    with pytest.raises(InvalidInputError) as refused:
        edit_as(commune, config, "phatthanh", b.id, text="Nội dung mới")
    assert refused.value.code == "bulletin.not_speech"


def test_a_recordings_title_cannot_be_emptied_or_made_too_long(commune, config):
    b = commune.bulletin(status="draft")
    for title, code in (("  ", "title.missing"), ("y" * (MAX_TITLE + 1), "title.too_long")):
        with pytest.raises(InvalidInputError) as refused:
            edit_as(commune, config, "phatthanh", b.id, title=title)
        assert refused.value.code == code
    with commune.db.session() as s:
        assert s.get_one(Bulletin, b.id).title == b.title


# --- delete and expire ---------------------------------------------------------------------


def test_deleting_a_draft_removes_it_its_files_and_is_audited(commune, config):
    bulletin_id = spoken_draft(commune, config)
    with commune.db.session() as s:
        b = s.get_one(Bulletin, bulletin_id)
        sound, folder = audio_file(config, b), drafts.draft_dir(config, bulletin_id)
    assert sound.exists()
    assert folder.exists()
    delete_as(commune, config, "phatthanh", bulletin_id)
    with commune.db.session() as s:
        assert s.get(Bulletin, bulletin_id) is None
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.delete")).one()
        assert (entry.actor, entry.target) == ("phatthanh", bulletin_id)
    assert not sound.exists()
    assert not folder.exists()


def test_a_refused_delete_keeps_everything(commune, config):
    sent = commune.bulletin(status="sent")
    draft = commune.bulletin(status="draft")
    with pytest.raises(ConflictError):
        delete_as(commune, config, "phatthanh", sent.id)
    with pytest.raises(ForbiddenError):
        delete_as(commune, config, "pheduyet", draft.id)
    with commune.db.session() as s:
        for b in (sent, draft):
            assert s.get(Bulletin, b.id) is not None
            assert audio_file(config, b).exists()


def test_a_delete_rolled_back_after_the_fact_removes_no_file(commune, config):
    draft = commune.bulletin(status="draft")
    with pytest.raises(RuntimeError):
        delete_as(commune, config, "phatthanh", draft.id, then_fail=True)
    assert audio_file(config, draft).exists()
    with commune.db.session() as s:
        assert s.get(Bulletin, draft.id) is not None


def test_old_unsent_drafts_and_rejected_bulletins_expire_recent_and_sent_ones_stay(commune, config):
    old = now() - timedelta(days=config.draft_expiry_days, hours=1)
    stale_draft = commune.bulletin(status="draft", created_at=old)
    stale_rejected = commune.bulletin(status="rejected", created_at=old, reviewed_at=old)
    fresh_rejection = commune.bulletin(status="rejected", created_at=old, reviewed_at=now())
    fresh_draft = commune.bulletin(status="draft")
    old_sent = commune.bulletin(status="sent", created_at=old)
    with commune.db.session() as s:
        expired = expire_drafts(s, config)
    assert sorted(expired) == sorted([stale_draft.id, stale_rejected.id])
    with commune.db.session() as s:
        for gone in (stale_draft, stale_rejected):
            assert s.get(Bulletin, gone.id) is None
            assert not audio_file(config, gone).exists()
        for kept in (fresh_rejection, fresh_draft, old_sent):
            assert s.get(Bulletin, kept.id) is not None
            assert audio_file(config, kept).exists()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.expire")).all()
        assert {(a.actor, a.target) for a in audit} == {
            ("system", stale_draft.id),
            ("system", stale_rejected.id),
        }


def test_the_housekeeping_job_expires_drafts(commune, dispatcher):
    from controller import jobs

    stale = commune.bulletin(
        status="draft", created_at=now() - timedelta(days=commune.config.draft_expiry_days + 1)
    )
    jobs._running = jobs.Running(commune.config, commune.db, dispatcher)
    try:
        jobs.housekeeping()
    finally:
        jobs._running = None
    with commune.db.session() as s:
        assert s.get(Bulletin, stale.id) is None
    assert not audio_file(commune.config, stale).exists()
