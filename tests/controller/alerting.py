"""Alerts in a test commune as the emergency page makes them: proposed, sent, cancelled and
corrected through the real `controller.emergency.alerts` steps."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from controller.broadcast.targets import resolve_targets
from controller.delivery.dispatcher import Dispatcher
from controller.emergency import alerts
from controller.models import Alert, User
from tests.controller.commune import Commune

TEXT = "Bão số 5 đổ bộ, đề nghị bà con vào nơi trú ẩn an toàn"


def propose(commune: Commune, zones: list[str], text: str = TEXT) -> str:
    """An alert the broadcaster proposed for ``zones``, not yet sent."""
    bulletin = commune.bulletin(priority="emergency")
    with commune.db.session() as s:
        alert = Alert(
            id=uuid.uuid4().hex,
            bulletin_id=bulletin.id,
            text=text,
            targets=resolve_targets(s, False, zones, []),
            expires_at=bulletin.valid_until,
            proposed_by=commune.user("phatthanh").id,
        )
        s.add(alert)
        return alert.id


def as_user(commune: Commune, username: str, step, alert_id: str) -> Any:
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return step(s, user, s.get_one(Alert, alert_id))


def send(commune: Commune, dispatcher: Dispatcher, zones: list[str], text: str = TEXT) -> str:
    alert_id = propose(commune, zones, text)
    as_user(commune, "admin", lambda s, u, a: alerts.activate(s, dispatcher, u, a), alert_id)
    return alert_id


def correct(commune: Commune, dispatcher: Dispatcher, alert_id: str, fixed: str, why: str) -> str:
    """Stop the alert with ``why`` and send ``fixed`` in its place, as the emergency page does."""
    speech = alerts.correction_speech(commune.config, fixed)

    def step(s, user, alert):
        made = alerts.cancel_and_correct(
            s, commune.config, dispatcher, user, alert, reason=why, correction=fixed, speech=speech
        )
        assert made is not None
        return made.id

    return str(as_user(commune, "admin", step, alert_id))


def cancel(commune: Commune, dispatcher: Dispatcher, alert_id: str, reason: str) -> None:
    step = lambda s, u, a: alerts.cancel(s, dispatcher, u, a, reason)  # noqa: E731
    as_user(commune, "phatthanh", step, alert_id)
