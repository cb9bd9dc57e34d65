"""The emergency form between its two steps: checking what was typed, and the prepared alert
(audio already spoken or processed) waiting for the sender's confirmation.

Step 1 prepares everything that can fail (bad input, an unusable recording, speech) so that
step 2 only sends. The prepared alert lives in ``data_dir/tmp/emergency/<token>.{ogg,json}``,
belongs to the account that prepared it, is used once, and lapses after ``PREPARED_TTL``.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api.deps import recording
from controller.broadcast.audio_report import AudioReport
from controller.broadcast.media import audio_for
from controller.broadcast.times import MAX_VALID_S
from controller.config import ControllerConfig
from controller.errors import DomainError, TooLargeError, UnsupportedMediaError
from controller.models import Node, Zone, now

MAX_TEXT = 5000
MAX_REPEAT = 10
MAX_INTERVAL_MIN = 360
EXPIRY_CHOICES = (15, 30, 60, 120, 240, 720, 1440)  # minutes
PREPARED_TTL = timedelta(minutes=30)
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass
class AlertForm:
    """What the sender typed, kept as typed so the form can be shown again with it."""

    text: str = ""
    all_points: bool = False
    zones: list[str] = field(default_factory=list)
    repeat: str = "3"
    interval_min: str = "5"
    expires_min: str = "60"


@dataclass
class Checked:
    targets: list[str]  # node ids
    zone_names: list[str]  # the villages, for the summary ("" list: all points)
    repeat: int
    interval_s: int
    expires_min: int


def whole(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


def check(s: Session, form: AlertForm, has_file: bool) -> tuple[Checked | None, dict[str, str]]:
    """The form's values, or the message (a catalogue key) for each field that is wrong."""
    errors: dict[str, str] = {}
    if not form.text.strip() and not has_file:
        errors["text"] = "emergency.error.empty"
    elif len(form.text) > MAX_TEXT:
        errors["text"] = "emergency.error.too_long"
    zones = {z.code: z for z in s.scalars(select(Zone))}
    nodes = s.scalars(select(Node).order_by(Node.id)).all()
    chosen = [zones[c] for c in form.zones if c in zones]
    targets = sorted(n.id for n in nodes if form.all_points or n.zone_id in {z.id for z in chosen})
    if not form.all_points and not chosen:
        errors["zones"] = "emergency.error.no_zones"
    elif not targets:
        errors["zones"] = "emergency.error.no_points"
    repeat = whole(form.repeat, 1, MAX_REPEAT)
    if repeat is None:
        errors["repeat"] = "emergency.error.repeat"
    interval = whole(form.interval_min, 1, MAX_INTERVAL_MIN)
    if interval is None:
        errors["interval_min"] = "emergency.error.interval"
    expires = whole(form.expires_min, 1, MAX_VALID_S // 60)
    if expires is None:
        errors["expires_min"] = "emergency.error.expires"
    if repeat and interval and expires and (repeat - 1) * interval > expires:
        errors["interval_min"] = "emergency.error.outlasts"
    if errors or repeat is None or interval is None or expires is None:
        return None, errors
    names = [] if form.all_points else [z.name for z in chosen]
    return Checked(targets, names, repeat, interval * 60, expires), {}


class Prepared(BaseModel):
    """A prepared alert as kept in its ``<token>.json`` between the two steps."""

    user_id: int
    text: str
    file_name: str
    targets: list[str]
    zone_names: list[str]
    repeat: int
    interval_s: int
    expires_min: int
    report: AudioReport
    made_at: str  # ISO time
    form: dict[str, Any]  # as typed, to edit it again


def prepared_dir(config: ControllerConfig) -> Path:
    return config.data_dir / "tmp" / "emergency"


def prepare(
    config: ControllerConfig,
    user_id: int,
    form: AlertForm,
    checked: Checked,
    upload: UploadFile | None,
) -> str:
    """Speak the text or process the recording now; returns the token that step 2 sends.
    Raises DomainError (from the pipeline or speech) when the audio cannot be made."""
    encoded, report, name = audio_for(config, recording(upload), form.text, "vi", emergency=True)
    folder = prepared_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    forget_lapsed(folder)
    token = secrets.token_urlsafe(18)
    encoded.rename(folder / f"{token}.ogg")
    record = Prepared(
        user_id=user_id,
        text=form.text.strip(),
        file_name=name,
        targets=checked.targets,
        zone_names=checked.zone_names,
        repeat=checked.repeat,
        interval_s=checked.interval_s,
        expires_min=checked.expires_min,
        report=report,
        made_at=now().isoformat(),
        form=asdict(form),
    )
    (folder / f"{token}.json").write_text(record.model_dump_json())
    return token


def load(config: ControllerConfig, token: str, user_id: int) -> Prepared | None:
    """The prepared alert behind ``token`` if it is this account's and still fresh."""
    if not token or not set(token) <= TOKEN_CHARS:
        return None
    path = prepared_dir(config) / f"{token}.json"
    try:
        prepared = Prepared.model_validate_json(path.read_text())
    except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
        return None
    if prepared.user_id != user_id:
        return None
    if datetime.fromisoformat(prepared.made_at) < now() - PREPARED_TTL:
        return None
    return prepared


def audio_path(config: ControllerConfig, token: str) -> Path:
    return prepared_dir(config) / f"{token}.ogg"


def claim(config: ControllerConfig, token: str) -> Path | None:
    """Take the prepared audio for sending, once: a second click finds nothing to send."""
    source = audio_path(config, token)
    claimed = source.with_suffix(".sending")
    try:
        source.rename(claimed)
    except FileNotFoundError:
        return None
    (prepared_dir(config) / f"{token}.json").unlink(missing_ok=True)
    return claimed


def forget_lapsed(folder: Path) -> None:
    cutoff = (now() - PREPARED_TTL).timestamp()
    for path in folder.iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def audio_error(exc: DomainError) -> str:
    """The catalogue key for an audio that could not be made, by the kind of refusal."""
    if isinstance(exc, TooLargeError):
        return "emergency.error.too_big"
    if isinstance(exc, UnsupportedMediaError):
        return "emergency.error.not_audio"
    if exc.code == "audio.too_short":
        return "emergency.error.too_short"
    return "emergency.error.unusable"
