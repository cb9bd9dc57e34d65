"""A login does the same password-hashing work whatever the reason it fails, so its timing does
not tell who has an account. Counted, not timed: every attempt verifies exactly one argon2 hash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from controller.emergency import cap_ingest
from controller.models import User
from controller.web import sessions
from tests.controller.commune import Commune

PASSWORD = "mat-khau-dung-123"


def prepare(commune: Commune) -> None:
    """The broadcaster with a known password, an approver locked, the CAP feed's account."""
    from controller.auth import hash_password

    with commune.db.session() as s:
        for name, active in (("phatthanh", True), ("pheduyet", False)):
            user = s.scalars(select(User).where(User.username == name)).one()
            user.password_hash, user.active = hash_password(PASSWORD), active
        cap_ingest.cap_user(s)


@pytest.mark.parametrize(
    ("username", "password", "succeeds"),
    [
        ("phatthanh", PASSWORD, True),
        ("phatthanh", "sai-mat-khau", False),
        ("khong-co-ai", PASSWORD, False),  # no such account
        ("pheduyet", PASSWORD, False),  # locked, with the right password
        (cap_ingest.CAP_USER, "", False),  # the system's own account: no one logs in with it
    ],
)
def test_every_attempt_verifies_one_hash(commune, verified, username, password, succeeds):
    prepare(commune)
    verified.clear()
    with commune.db.session() as s:
        result = sessions.log_in(s, commune.config, username, password, "10.0.0.7")
    assert (result.user is not None) is succeeds
    assert len(verified) == 1
    assert verified[0].startswith("$argon2id$")
