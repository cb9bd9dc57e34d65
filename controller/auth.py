"""Users, password hashes and API bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import ApiToken, User

ROLES = ("admin", "broadcaster", "approver")  # the roles a person's account may hold
# An account no one logs in with, for what the system does by itself (the CAP feed poller): the
# audit log names it as the actor; it holds no permission and the account page cannot edit it.
SYSTEM_ROLE = "system"
MIN_PASSWORD_LENGTH = 8
_ARGON2 = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# The suite hashes and verifies hundreds of passwords (every system it starts, every browser
# login), each 64 MiB and about 0.2 s of a core at the real cost. Its conftest sets this variable
# for itself and the processes it starts; a test checks that without it the cost is the one above.
# A hash made at the test cost and later checked without the variable is upgraded at login
# (needs_rehash), so even a mistaken setting does not outlive the next login.
TEST_COST_ENV = "LOA_TEST_PASSWORD_COST"
_ARGON2_TEST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # hashes written before argon2; upgraded at login


def hashing_at_test_cost() -> bool:
    """Whether passwords are hashed at the test suite's cost (``TEST_COST_ENV``)."""
    return os.environ.get(TEST_COST_ENV) == "1"


def _argon2() -> PasswordHasher:
    return _ARGON2_TEST if hashing_at_test_cost() else _ARGON2


def hash_password(password: str) -> str:
    return _argon2().hash(password)


def check_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        try:
            _scheme, salt, digest = stored.split("$")
            got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
        except ValueError:
            return False
        return hmac.compare_digest(got.hex(), digest)
    try:
        return _argon2().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _decoy_hash() -> str:
    return _decoy_for(_argon2())


@cache
def _decoy_for(hasher: PasswordHasher) -> str:
    """The hash of a password no one knows, made once per process and cost."""
    return hasher.hash(secrets.token_urlsafe(24))


def verify_login(user: User | None, password: str) -> bool:
    """Whether ``user`` may log in with ``password``. An unknown, locked or system account is
    checked against a decoy hash, so every refusal costs the same argon2 work as a wrong
    password and the login's timing does not tell which user names exist."""
    usable = user is not None and user.active and user.role in ROLES
    stored = user.password_hash if user is not None and usable else _decoy_hash()
    return check_password(password, stored) and usable


def needs_rehash(stored: str) -> bool:
    return stored.startswith("scrypt$") or _argon2().check_needs_rehash(stored)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(db: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = User(username=username, password_hash=hash_password(password), role=role)
    db.add(user)
    db.flush()
    return user


def issue_token(db: Session, user: User, label: str = "") -> str:
    token = "loa_" + secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label=label))
    db.flush()
    return token


def user_for_token(db: Session, token: str) -> User | None:
    row = db.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token)))
    return row.user if row and row.user.active else None  # a locked account's tokens stop too
