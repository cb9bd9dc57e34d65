"""Changing a broadcaster's own draft or rejected bulletin (title, text for speech, voice) before
it is sent for approval again, and deleting one that never aired.

Only ``draft`` and ``rejected`` bulletins change: a pending one is in an approver's hands, and an
approved or sent one is what the approver agreed to (its plays may already be on the points).
A new text is spoken again and replaces the audio; nothing is stored until the speech worked.
Files are removed only once the database change is committed (``after_commit`` below), so a
refused or failed change never loses a draft's audio.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, event, exists, select
from sqlalchemy.orm import Session

from controller import audit
from controller.broadcast import drafts
from controller.broadcast.ingest import store_audio
from controller.broadcast.media import duration_of
from controller.broadcast.titles import checked_title, title_from_text
from controller.config import ControllerConfig
from controller.errors import ConflictError, ForbiddenError, InvalidInputError
from controller.models import Alert, AudioFile, Bulletin, BulletinReview, Delivery, User

EDITABLE = ("draft", "rejected")
UNLINK_KEY = "loa.unlink_after_commit"


@dataclass(frozen=True)
class Changes:
    """What to change; None leaves a field as it is."""

    title: str | None = None
    text: str | None = None
    voice: str | None = None


def voice_of(bulletin: Bulletin) -> str:
    tts = (bulletin.processing_report or {}).get("tts") or {}
    return str(tts.get("voice") or "vi")


def check_editable(bulletin: Bulletin, user: User) -> None:
    """Refuses (changing nothing) unless ``user`` made ``bulletin`` and it is still theirs to
    change: a draft, or a rejected bulletin."""
    if bulletin.created_by != user.id:
        raise ForbiddenError(
            "bulletin.not_yours",
            "only the broadcaster who made a bulletin may change it",
            "Chỉ người soạn bản tin mới được sửa bản tin này",
        )
    if bulletin.status == "pending":
        raise ConflictError(
            "bulletin.pending",
            "the bulletin is waiting for approval and cannot be changed now",
            "Bản tin đang chờ duyệt nên chưa sửa được",
        )
    if bulletin.status not in EDITABLE:
        raise ConflictError(
            "bulletin.not_editable",
            f"a {bulletin.status} bulletin cannot be changed: make a new one",
            "Bản tin đã được duyệt hoặc đã gửi nên không sửa được nữa: hãy soạn bản tin mới",
        )


def edit(
    s: Session, config: ControllerConfig, user: User, bulletin: Bulletin, changes: Changes
) -> list[str]:
    """Apply ``changes``; returns the names of the fields that changed. A new text or voice is
    spoken first: a text the engines cannot read raises its DomainError with nothing changed."""
    check_editable(bulletin, user)
    changed: list[str] = []
    text = bulletin.text if changes.text is None else changes.text.strip()
    voice = voice_of(bulletin) if changes.voice is None else changes.voice
    respeak = text != bulletin.text or voice != voice_of(bulletin)
    if respeak and not bulletin.text:
        raise InvalidInputError(
            "bulletin.not_speech",
            "this bulletin is a recording: it has no text to change (record it again instead)",
            "Bản tin này là bản ghi âm, không có văn bản để sửa: hãy ghi âm lại",
            field="text",
        )
    title = bulletin.title
    if changes.title is not None:
        title = checked_title(changes.title) if changes.title.strip() or not text else ""
        title = title or title_from_text(text)
    if respeak:
        changed += ["text"] if text != bulletin.text else []
        changed += ["voice"] if voice != voice_of(bulletin) else []
        _respeak(s, config, bulletin, text, voice)
    if title != bulletin.title:
        bulletin.title = title
        changed.append("title")
    if changed:
        audit.record(s, user.username, "bulletin.edit", bulletin.id, changed=changed, title=title)
    s.flush()
    return changed


def _respeak(
    s: Session, config: ControllerConfig, bulletin: Bulletin, text: str, voice: str
) -> None:
    from controller.broadcast.speech import speak

    encoded, report = speak(config, text, voice=voice)
    try:
        duration = duration_of(report)
        audio = store_audio(config, s, encoded, duration_s=duration)
    finally:
        encoded.unlink(missing_ok=True)
    old = bulletin.audio_sha256
    bulletin.audio_sha256 = audio.sha256
    bulletin.processing_report = report.stored()
    bulletin.text = text
    s.flush()
    s.expire(bulletin, ["audio"])
    drafts.draft_dir(config, bulletin.id).mkdir(parents=True, exist_ok=True)
    drafts.write_waveforms(config, bulletin)
    if old != audio.sha256:
        _drop_audio_if_unused(s, config, old)


def check_deletable(s: Session, bulletin: Bulletin, user: User) -> None:
    """A draft or a rejected bulletin that never aired, by its author (or an admin)."""
    if bulletin.created_by != user.id and user.role != "admin":
        raise ForbiddenError(
            "bulletin.not_yours",
            "only the broadcaster who made a bulletin (or an admin) may delete it",
            "Chỉ người soạn bản tin (hoặc quản trị) mới được xoá bản tin này",
        )
    aired = s.scalar(select(exists().where(Delivery.bulletin_id == bulletin.id)))
    alert = s.scalar(select(exists().where(Alert.bulletin_id == bulletin.id)))
    if bulletin.status not in EDITABLE or aired or alert:
        raise ConflictError(
            "bulletin.not_deletable",
            "only a draft or a rejected bulletin that never aired can be deleted",
            "Chỉ xoá được bản nháp hoặc bản tin bị từ chối chưa từng phát",
        )


def delete_bulletin(s: Session, config: ControllerConfig, user: User, bulletin: Bulletin) -> None:
    """Delete it with its review history, its draft folder and, unless another bulletin has the
    same sound, its audio; audited."""
    check_deletable(s, bulletin, user)
    remove(s, config, bulletin)
    audit.record(s, user.username, "bulletin.delete", bulletin.id, title=bulletin.title)


def remove(s: Session, config: ControllerConfig, bulletin: Bulletin) -> None:
    """The deletion itself, for ``delete_bulletin`` and the expiry job (which check first)."""
    sha = bulletin.audio_sha256
    s.execute(delete(BulletinReview).where(BulletinReview.bulletin_id == bulletin.id))
    s.delete(bulletin)
    s.flush()
    unlink_after_commit(s, drafts.draft_dir(config, bulletin.id))
    _drop_audio_if_unused(s, config, sha)


def _drop_audio_if_unused(s: Session, config: ControllerConfig, sha: str) -> None:
    if s.scalar(select(exists().where(Bulletin.audio_sha256 == sha))):
        return
    s.execute(delete(AudioFile).where(AudioFile.sha256 == sha))
    unlink_after_commit(s, config.audio_dir / f"{sha}.ogg")


def unlink_after_commit(s: Session, path: Path) -> None:
    """Remove ``path`` (a file or a folder) once ``s`` commits; forgotten if it rolls back."""
    s.info.setdefault(UNLINK_KEY, []).append(path)


@event.listens_for(Session, "after_commit")
def _unlink(s: Session) -> None:
    for path in s.info.pop(UNLINK_KEY, []):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep(s: Session) -> None:
    s.info.pop(UNLINK_KEY, None)
