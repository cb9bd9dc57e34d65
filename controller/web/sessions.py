"""Browser logins: server-side sessions behind an HttpOnly cookie, CSRF tokens, login throttling.

The cookie carries a random token; the database keeps only its sha256, so a leaked database
does not log anyone in. Every form carries the session's CSRF token (synchronizer pattern).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from controller import audit
from controller.auth import hash_password, needs_rehash, token_digest, verify_login
from controller.config import ControllerConfig
from controller.models import LoginFailure, User, WebSession, now

COOKIE = "loa_session"
TOUCH_EVERY = timedelta(minutes=1)  # sliding expiry without a write on every request
ADDRESS_FACTOR = 4  # one address may fail this many times more than one user name


@dataclass(frozen=True)
class LoginResult:
    user: User | None = None
    token: str = ""
    retry_after_s: int = 0  # > 0: throttled, the password was not even checked


def open_session(s: Session, config: ControllerConfig, user: User) -> str:
    token = secrets.token_urlsafe(32)
    at = now()
    s.add(
        WebSession(
            token_sha256=token_digest(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created_at=at,
            last_seen=at,
            expires_at=at + timedelta(days=config.session_max_days),
        )
    )
    return token


def session_for(s: Session, config: ControllerConfig, token: str) -> WebSession | None:
    """The live session behind a cookie token, touched; None when unknown, idle or expired."""
    row = s.get(WebSession, token_digest(token)) if token else None
    if row is None:
        return None
    at = now()
    idle_limit = row.last_seen + timedelta(hours=config.session_idle_hours)
    if at >= row.expires_at or at >= idle_limit or not row.user.active:
        s.delete(row)
        return None
    if at - row.last_seen >= TOUCH_EVERY:
        row.last_seen = at
    return row


def close_session(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.token_sha256 == token_digest(token)))


def csrf_matches_token(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def retry_after(s: Session, config: ControllerConfig, username: str, address: str) -> int:
    """Seconds until this user name and address may try again (0: now)."""
    since = now() - timedelta(minutes=config.login_window_minutes)
    recent = select(LoginFailure).where(LoginFailure.at >= since)
    by_name = recent.where(LoginFailure.username == username)
    by_address = recent.where(LoginFailure.address == address)
    blocked_until: list[datetime] = []
    for query, limit in (
        (by_name, config.login_max_failures),
        (by_address, config.login_max_failures * ADDRESS_FACTOR),
    ):
        count = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        if count >= limit:
            oldest = s.scalar(query.with_only_columns(func.min(LoginFailure.at)))
            if oldest is not None:
                blocked_until.append(oldest + timedelta(minutes=config.login_window_minutes))
    if not blocked_until:
        return 0
    return max(1, int((max(blocked_until) - now()).total_seconds()) + 1)


def log_in(
    s: Session, config: ControllerConfig, username: str, password: str, address: str
) -> LoginResult:
    username = username.strip()
    if wait := retry_after(s, config, username, address):
        audit.record(s, username or "?", "login.throttled", address)
        return LoginResult(retry_after_s=wait)
    user = s.scalar(select(User).where(User.username == username))
    if not verify_login(user, password) or user is None:
        s.add(LoginFailure(username=username[:64], address=address[:64]))
        audit.record(s, username[:64] or "?", "login.failed", address)
        return LoginResult()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    s.execute(delete(LoginFailure).where(LoginFailure.username == username))
    audit.record(s, user.username, "login", address)
    return LoginResult(user=user, token=open_session(s, config, user))


def prune(s: Session, config: ControllerConfig) -> None:
    """Housekeeping: forget lapsed sessions and old failures."""
    at = now()
    s.execute(delete(WebSession).where(WebSession.expires_at < at))
    idle = at - timedelta(hours=config.session_idle_hours)
    s.execute(delete(WebSession).where(WebSession.last_seen < idle))
    old = at - timedelta(minutes=config.login_window_minutes)
    s.execute(delete(LoginFailure).where(LoginFailure.at < old))
