"""Web Push (RFC 8030/8291/8292) of new notifications to the browsers that asked for it.

The VAPID key pair is made once and kept private (``data_dir/vapid_private.pem``, 0600). A
background job (``controller.jobs:push_notifications``) sends what is pending outside any
database transaction, each request with a short timeout, so a slow or dead push service delays
nothing else; a 404 or 410 from it means the browser unsubscribed and the subscription goes.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.db import Database
from controller.errors import InvalidInputError
from controller.models import Notification, PushSubscription, User, now
from controller.notifications.words import say
from controller.private_files import write_private

log = logging.getLogger(__name__)
KEY_NAME = "vapid_private.pem"
TIMEOUT_S = 10.0
# A notice nobody could be told of within a day (the controller was down) is old news.
STALE = timedelta(days=1)
BATCH = 200
TTL_S = 24 * 3600  # how long a push service keeps a message for a phone that is off
GONE = (404, 410)
DEFAULT_PORTS = {"https": 443, "http": 80}


def key_path(config: ControllerConfig) -> Path:
    return config.data_dir / KEY_NAME


def private_key(config: ControllerConfig) -> ec.EllipticCurvePrivateKey:
    """The controller's VAPID key (P-256), made and stored privately the first time."""
    path = key_path(config)
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC private key")
        return loaded
    made = ec.generate_private_key(ec.SECP256R1())
    pem = made.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem)
    return made


def public_key(config: ControllerConfig) -> str:
    """The applicationServerKey a browser subscribes with: the raw point, base64url."""
    raw = (
        private_key(config)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def known_service(endpoint: str, services: Sequence[str]) -> bool:
    """Whether ``endpoint`` is on one of the push services' origins (``*.`` for a subdomain):
    the controller posts to browsers' push services, never to an address a user made up."""
    try:
        url = urlsplit(endpoint)
        port = url.port or DEFAULT_PORTS.get(url.scheme)
    except ValueError:
        return False
    host = (url.hostname or "").lower()
    for service in services:
        allowed = urlsplit(service)
        name = (allowed.hostname or "").lower()
        same_host = host == name or (name.startswith("*.") and host.endswith(name[1:]))
        if (
            url.scheme == allowed.scheme
            and same_host
            and port == (allowed.port or DEFAULT_PORTS.get(allowed.scheme))
        ):
            return True
    return False


def subscribe(
    s: Session, config: ControllerConfig, user: User, subscription: dict[str, Any]
) -> PushSubscription:
    """Keep (or move to ``user``) the browser's subscription, as ``PushSubscription.toJSON()``
    gives it. Anything else, or a push service not in ``config.push_services``, is an
    InvalidInputError and nothing is kept."""
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    keys = keys if isinstance(keys, dict) else {}
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not (
        isinstance(endpoint, str)
        and known_service(endpoint, config.push_services)
        and len(endpoint) <= 1000
        and isinstance(p256dh, str)
        and 40 <= len(p256dh) <= 200
        and isinstance(auth, str)
        and 16 <= len(auth) <= 100
    ):
        raise InvalidInputError(
            "push.invalid",
            "not a Web Push subscription",
            "Trình duyệt gửi thông tin đăng ký không hợp lệ",
        )
    row = s.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(endpoint=endpoint, user_id=user.id, p256dh=p256dh, auth=auth)
        s.add(row)
    row.user_id, row.p256dh, row.auth = user.id, p256dh, auth
    return row


def unsubscribe(s: Session, user: User, endpoint: str) -> None:
    s.execute(
        delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id
        )
    )


@dataclass
class Pushed:
    sent: int = 0
    failed: int = 0
    removed: list[str] = field(default_factory=list)  # endpoints the push service says are gone


@dataclass(frozen=True)
class _Message:
    endpoint: str
    keys: dict[str, str]
    payload: str


def send_pending(db: Database, config: ControllerConfig) -> Pushed:
    """Push every notification not pushed yet to its user's browsers; returns what happened."""
    from py_vapid import Vapid02
    from pywebpush import WebPushException, webpush

    messages, ids = _pending(db, config)
    if not ids:
        return Pushed()
    vapid = Vapid02(private_key=private_key(config))
    claims = {"sub": _contact(config)}
    done = Pushed()
    for message in messages:
        try:
            webpush(
                subscription_info={"endpoint": message.endpoint, "keys": message.keys},
                data=message.payload,
                vapid_private_key=vapid,
                vapid_claims=dict(claims),  # pywebpush adds "aud" and "exp" to what it is given
                timeout=TIMEOUT_S,
                ttl=TTL_S,
            )
            done.sent += 1
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE:
                done.removed.append(message.endpoint)
            else:
                done.failed += 1
                log.warning("web push to %s failed: %s", urlsplit(message.endpoint).hostname, exc)
        except Exception as exc:  # unreachable push service: told once, not retried forever
            done.failed += 1
            log.warning("web push to %s failed: %s", urlsplit(message.endpoint).hostname, exc)
    with db.session() as s:
        for row in s.scalars(select(Notification).where(Notification.id.in_(ids))):
            row.pushed = True
        if done.removed:
            s.execute(delete(PushSubscription).where(PushSubscription.endpoint.in_(done.removed)))
    return done


def _pending(db: Database, config: ControllerConfig) -> tuple[list[_Message], list[int]]:
    with db.session() as s:
        rows = s.scalars(
            select(Notification)
            .where(Notification.pushed.is_(False))
            .order_by(Notification.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return [], []
        users = {row.user_id for row in rows}
        languages = dict(s.execute(select(User.id, User.language).where(User.id.in_(users))).all())
        browsers: dict[int, list[PushSubscription]] = {}
        for sub in s.scalars(select(PushSubscription).where(PushSubscription.user_id.in_(users))):
            browsers.setdefault(sub.user_id, []).append(sub)
        fresh_after = now() - STALE
        messages = [
            _Message(
                sub.endpoint,
                {"p256dh": sub.p256dh, "auth": sub.auth},
                _payload(config, row, languages.get(row.user_id, "vi")),
            )
            for row in rows
            if row.created_at >= fresh_after
            for sub in browsers.get(row.user_id, [])
            if known_service(sub.endpoint, config.push_services)  # the list may have shrunk
        ]
        return messages, [row.id for row in rows]


def _payload(config: ControllerConfig, notification: Notification, lang: str) -> str:
    said = say(notification, lang)
    body = f"{said.text}. {said.reason}" if said.reason else said.text
    return json.dumps(
        {
            "title": config.commune_name,
            "body": body,
            "url": said.url,
            "tag": f"loa-{notification.id}",
        },
        ensure_ascii=False,
    )


def _contact(config: ControllerConfig) -> str:
    """Who the push services may contact about these messages (RFC 8292 "sub")."""
    if config.web_url.startswith("https://"):
        return config.web_url
    sender = config.cap_sender_id
    return f"mailto:{sender}" if "@" in sender else f"mailto:loalang@{sender}"
