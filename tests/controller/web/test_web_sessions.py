"""Web sessions and login throttling against a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from controller.auth import create_user, token_digest
from controller.config import ControllerConfig
from controller.db import Database
from controller.models import LoginFailure, User, WebSession, now
from controller.web import sessions


@pytest.fixture
def db(db: Database) -> Database:
    """The shared empty database, with one broadcaster account."""
    with db.session() as s:
        create_user(s, "lan", "mat-khau-dai", "broadcaster")
    return db


CONFIG = ControllerConfig(session_idle_hours=2, session_max_days=1, login_max_failures=3)


def test_a_login_opens_a_session_whose_cookie_token_is_not_stored(db):
    with db.session() as s:
        result = sessions.log_in(s, CONFIG, " lan ", "mat-khau-dai", "10.0.0.1")
        assert result.user is not None
        token = result.token
        stored = s.scalars(select(WebSession)).one()
        assert stored.token_sha256 == token_digest(token) != token
        assert sessions.session_for(s, CONFIG, token) is not None
        assert sessions.session_for(s, CONFIG, token + "x") is None


@pytest.mark.parametrize(
    ("change", "alive"),
    [
        ({"last_seen": timedelta(hours=-1)}, True),
        ({"last_seen": timedelta(hours=-3)}, False),  # idle longer than 2 h
        ({"expires_at": timedelta(seconds=-1)}, False),  # older than the absolute limit
    ],
)
def test_sessions_lapse_when_idle_or_too_old(db, change, alive):
    with db.session() as s:
        token = sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "a").token
    with db.session() as s:
        row = s.get(WebSession, token_digest(token))
        for field, delta in change.items():
            setattr(row, field, now() + delta)
    with db.session() as s:
        assert (sessions.session_for(s, CONFIG, token) is not None) == alive
    with db.session() as s:  # a lapsed session is gone for good
        assert (s.get(WebSession, token_digest(token)) is not None) == alive


def test_a_deactivated_account_loses_its_session_and_cannot_log_in(db):
    with db.session() as s:
        token = sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "a").token
        s.scalars(select(User)).one().active = False
    with db.session() as s:
        assert sessions.session_for(s, CONFIG, token) is None
        assert sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "a").user is None


def test_failures_throttle_the_name_then_the_address_and_success_clears_them(db):
    with db.session() as s:
        for _ in range(3):
            assert sessions.log_in(s, CONFIG, "lan", "sai", "10.0.0.1").user is None
        blocked = sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "10.0.0.2")
        assert blocked.user is None
        assert 0 < blocked.retry_after_s <= 15 * 60 + 1
        # one address guessing many names is stopped at four times the per-name limit
        for i in range(12):
            sessions.log_in(s, CONFIG, f"ten{i}", "sai", "10.0.0.9")
        assert sessions.retry_after(s, CONFIG, "lan2", "10.0.0.9") > 0
        assert sessions.retry_after(s, CONFIG, "lan2", "10.0.0.8") == 0
    with db.session() as s:  # the window passes
        for row in s.scalars(select(LoginFailure).where(LoginFailure.username == "lan")):
            row.at = now() - timedelta(minutes=16)
    with db.session() as s:
        assert sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "10.0.0.1").user is not None
        count = select(func.count()).select_from(LoginFailure)
        assert s.scalar(count.where(LoginFailure.username == "lan")) == 0


def test_prune_forgets_lapsed_sessions_and_old_failures(db):
    with db.session() as s:
        keep = sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "a").token
        old = sessions.log_in(s, CONFIG, "lan", "mat-khau-dai", "a").token
        sessions.log_in(s, CONFIG, "lan", "sai", "a")
    with db.session() as s:
        s.get(WebSession, token_digest(old)).last_seen = now() - timedelta(hours=5)
        s.scalars(select(LoginFailure)).one().at = now() - timedelta(hours=1)
    with db.session() as s:
        sessions.prune(s, CONFIG)
    with db.session() as s:
        assert [r.token_sha256 for r in s.scalars(select(WebSession))] == [token_digest(keep)]
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_an_old_scrypt_hash_still_logs_in_and_is_upgraded_to_argon2(db):
    import hashlib

    salt = bytes(16)
    digest = hashlib.scrypt(b"mat-khau-cu", salt=salt, n=2**14, r=8, p=1)
    with db.session() as s:
        s.scalars(select(User)).one().password_hash = f"scrypt${salt.hex()}${digest.hex()}"
    with db.session() as s:
        assert sessions.log_in(s, CONFIG, "lan", "mat-khau-sai", "a").user is None
        assert sessions.log_in(s, CONFIG, "lan", "mat-khau-cu", "a").user is not None
    with db.session() as s:
        assert s.scalars(select(User)).one().password_hash.startswith("$argon2id$")
