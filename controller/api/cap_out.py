"""CAP out over HTTP, for anyone without a login: the Atom feed of the commune's alerts and
each alert as a CAP 1.2 document. Machine-readable, like the rest of /api/v1, but public: an
alert is meant to reach everyone, and provincial systems and e-boards poll without accounts.
Only alerts that actually went out appear (`controller.emergency.cap_out`).

Pollers are cheap to serve: every answer has an ETag (a digest of its body) and answers
``If-None-Match`` with 304 and no body. ``Last-Modified`` is given but ``If-Modified-Since`` is
not honoured: its whole seconds cannot tell apart two alerts sent in the same second, and a
poller must never be told "nothing new" about an alert.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime

from fastapi import APIRouter, HTTPException, Request, Response

from controller.api.deps import ConfigDep, DbDep
from controller.emergency import cap_out
from controller.emergency.cap.atom import CAP_TYPE
from controller.emergency.cap.write import write_cap

router = APIRouter(prefix="/api/v1/cap", tags=["CAP out"])

FEED_TYPE = "application/atom+xml; charset=utf-8"
DOCUMENT_TYPE = CAP_TYPE + "; charset=utf-8"
# The feed is revalidated on every poll (a 304 costs a few hundred bytes); a published message
# never changes, so a cache may keep it a while.
FEED_CACHE = "public, no-cache"
DOCUMENT_CACHE = "public, max-age=300"
_ANSWERS: dict[int | str, dict[str, object]] = {
    200: {"content": {CAP_TYPE: {}}},
    304: {"description": "unchanged since the ETag sent in If-None-Match"},
}


@router.get(
    "/alerts.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}, 304: _ANSWERS[304]},
)
def alerts_feed(request: Request, db: DbDep, config: ConfigDep) -> Response:
    """The newest 50 CAP messages of the commune (Alert, Update, Cancel), newest first, each
    entry linking to its document (``application/cap+xml``). No login."""
    with db.session() as s:
        items = cap_out.latest(s, config)
    body = cap_out.feed(config, items)
    newest = max((i.cap.sent for i in items), default=None)
    return _answer(request, body, FEED_TYPE, FEED_CACHE, newest)


@router.get("/alerts/{alert_id}.xml", response_class=Response, responses=_ANSWERS)
def alert_document(alert_id: str, request: Request, db: DbDep, config: ConfigDep) -> Response:
    """The alert as sent: a CAP 1.2 ``Alert``, or ``Update`` when it corrects or replaces
    earlier ones. 404 for an alert that was never sent. No login."""
    return _document(request, db, config, alert_id, cancel=False)


@router.get("/alerts/{alert_id}/cancel.xml", response_class=Response, responses=_ANSWERS)
def cancel_document(alert_id: str, request: Request, db: DbDep, config: ConfigDep) -> Response:
    """The ``Cancel`` that stopped the alert, with the reason as its note. 404 unless it was
    sent and then stopped. No login."""
    return _document(request, db, config, alert_id, cancel=True)


def _document(
    request: Request, db: DbDep, config: ConfigDep, alert_id: str, *, cancel: bool
) -> Response:
    with db.session() as s:
        try:
            published = cap_out.message(s, config, alert_id, cancel=cancel)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
    body = write_cap(published.cap)
    return _answer(request, body, DOCUMENT_TYPE, DOCUMENT_CACHE, published.cap.sent)


def _answer(
    request: Request, body: bytes, media_type: str, cache: str, modified: datetime | None
) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    # Public and without credentials: a notice board's web page on another origin may read it.
    headers = {"ETag": etag, "Cache-Control": cache, "Access-Control-Allow-Origin": "*"}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: a weak comparison against the list, or "*"."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
