"""When a broadcast plays: times given as text, times in the past, quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.errors import ConflictError, InvalidInputError
from controller.models import now
from schedules import LOCAL, QuietHours, airing_in_quiet

PAST_TOLERANCE = timedelta(seconds=60)


def parse_time(text: str | None, field: str = "play_at") -> datetime | None:
    """An ISO 8601 time in the future; one without a zone is Asia/Ho_Chi_Minh."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            "time.invalid",
            f"{field} {text!r} is not an ISO 8601 time",
            f"{field} {text!r} không phải thời điểm ISO 8601",
            field=field,
        ) from None
    return future(at, field)


def future(at: datetime, field: str = "play_at") -> datetime:
    """``at`` (Asia/Ho_Chi_Minh if it has no zone) unless it is already past."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=LOCAL)
    if at < now() - PAST_TOLERANCE:
        raise InvalidInputError(
            "time.past",
            f"{field} {at.isoformat()} is in the past",
            f"{field} {at.isoformat()} đã qua",
            field=field,
        )
    return at


def check_quiet_hours(quiet: QuietHours | None, start: datetime, *, seconds: float) -> None:
    """Quiet hours block all but emergencies: refuse a bulletin that would sound in them."""
    if quiet is None:
        return
    local = start.astimezone(LOCAL)
    if airing_in_quiet(quiet, local, local + timedelta(seconds=seconds)):
        window = f"{quiet.start:%H:%M}–{quiet.end:%H:%M}"
        raise ConflictError(
            "time.quiet_hours",
            f"quiet hours {window} block all but emergencies; "
            f"this bulletin would play at {local:%H:%M} (giờ yên tĩnh: chỉ phát tin khẩn cấp)",
            f"Giờ yên tĩnh {window}: chỉ phát tin khẩn cấp; tin này sẽ phát lúc {local:%H:%M}",
            field="play_at",
        )
