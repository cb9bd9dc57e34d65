"""Telling people what happened to bulletins: approvers of what waits for their review,
broadcasters of the decision and of bulletins that did not play. The domain makes them when the
events happen (``store``); the web app shows them; ``push`` sends them on as Web Push.
"""

from controller.notifications.store import (
    RETENTION,
    approved,
    list_for,
    mark_read,
    not_played,
    prune,
    rejected,
    unread_count,
    waiting_review,
)

__all__ = [
    "RETENTION",
    "approved",
    "list_for",
    "mark_read",
    "not_played",
    "prune",
    "rejected",
    "unread_count",
    "waiting_review",
]
