"""The viewer's notifications: the list (read and unread), opening one (it is then read and
the page it is about opens), marking all read, and Web Push on this browser."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import RedirectResponse, Response

from controller import notifications
from controller.api.deps import ConfigDep, DbDep
from controller.notifications import push
from controller.notifications.words import say
from controller.web.deps import Viewer, allowed
from controller.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/notifications")
def notification_list(
    request: Request, db: DbDep, config: ConfigDep, viewer: Annotated[Viewer, allowed("view")]
) -> Response:
    with db.session() as s:
        rows = notifications.list_for(s, viewer.user.id)
        entries = [{"n": n, "said": say(n, viewer.lang)} for n in rows]
        return page(
            request,
            viewer,
            "notifications.html",
            entries=entries,
            vapid_key=push.public_key(config),
        )


@router.get("/notifications/{notification_id}/open")
def open_notification(
    db: DbDep, notification_id: int, viewer: Annotated[Viewer, allowed("view")]
) -> Response:
    """Read now; on to what it is about (the list again if it is not the viewer's)."""
    with db.session() as s:
        found = notifications.mark_read(s, viewer.user.id, notification_id)
        url = say(found, viewer.lang).url if found is not None else "/notifications"
    return RedirectResponse(url, status_code=303)


@router.post("/notifications/read")
def read_all(db: DbDep, viewer: Annotated[Viewer, allowed("view", post=True)]) -> Response:
    with db.session() as s:
        notifications.mark_read(s, viewer.user.id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/push")
def push_subscribe(
    db: DbDep,
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("view", post=True)],
    subscription: Annotated[dict[str, Any], Body()],
) -> dict[str, bool]:
    """This browser's push subscription (its ``toJSON()``); refused with a 422 if malformed."""
    with db.session() as s:
        push.subscribe(s, config, viewer.account(s), subscription)
    return {"subscribed": True}


@router.post("/notifications/push/remove")
def push_unsubscribe(
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view", post=True)],
    subscription: Annotated[dict[str, Any], Body()],
) -> dict[str, bool]:
    endpoint = subscription.get("endpoint")
    with db.session() as s:
        if isinstance(endpoint, str):
            push.unsubscribe(s, viewer.account(s), endpoint)
    return {"subscribed": False}
