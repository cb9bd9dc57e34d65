"""When a broadcast plays: times given as text, times in the past or beyond what the points
accept, quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.errors import ConflictError, InvalidInputError
from controller.models import now
from protocol.signing import MAX_COMMAND_TTL
from schedules import LOCAL, QuietHours, airing_in_quiet

PAST_TOLERANCE = timedelta(seconds=60)
# The longest a broadcast may stay valid: the protocol's limit on a command's life, which
# every point enforces.
MAX_VALID_S = int(MAX_COMMAND_TTL.total_seconds())


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
    """``at`` (Asia/Ho_Chi_Minh if it has no zone) unless it is already past, or so far ahead
    that no point would accept a command to play it."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=LOCAL)
    try:
        at.astimezone(LOCAL) + MAX_COMMAND_TTL  # near the calendar's end: not a time we can use
    except OverflowError:
        raise _too_far(at.isoformat(), field) from None
    if at < now() - PAST_TOLERANCE:
        raise InvalidInputError(
            "time.past",
            f"{field} {at.isoformat()} is in the past",
            f"{field} {at.isoformat()} đã qua",
            field=field,
        )
    return at


def valid_until(start: datetime | None, lifetime: timedelta, field: str = "play_at") -> datetime:
    """When a broadcast starting at ``start`` (now if None) lapses; refused when the command that
    carries it would live longer than the protocol's maximum, which every point refuses."""
    try:
        until = (start or now()) + lifetime
    except OverflowError:
        raise _too_far(str(start), field) from None
    if until - now() > MAX_COMMAND_TTL:
        days = MAX_COMMAND_TTL.days
        raise InvalidInputError(
            "time.too_far",
            f"{field} {start.isoformat() if start else 'now'} with {lifetime} to start ends more "
            f"than {days} days from now: the points refuse commands that last longer than "
            f"{days} days; send it closer to the day, or place it in the programme",
            f"{field}: tin này hết hạn sau hơn {days} ngày nữa, các điểm phát sẽ từ chối; "
            "hãy gửi gần ngày phát hơn, hoặc xếp vào chương trình",
            field=field,
        )
    return until


def later(start: datetime, by: timedelta, field: str) -> datetime:
    """``start + by``, or a refusal naming ``field`` where that passes the calendar's end."""
    try:
        return (start + by).astimezone(start.tzinfo)
    except OverflowError:
        raise _too_far(start.isoformat(), field) from None


def _too_far(text: str, field: str) -> InvalidInputError:
    return InvalidInputError(
        "time.out_of_range",
        f"{field} {text} is outside the dates the points accept",
        f"{field} {text} nằm ngoài khoảng ngày các điểm phát chấp nhận",
        field=field,
    )


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
