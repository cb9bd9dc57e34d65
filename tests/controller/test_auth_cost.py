"""The suite hashes passwords at a test cost (tests/conftest.py sets controller.auth's
TEST_COST_ENV); without that variable, as in production, every hash and every refusal costs the
real argon2 work, and a hash made at the test cost is upgraded at the next login."""

from __future__ import annotations

import pytest

from controller import auth

PRODUCTION = "$argon2id$v=19$m=65536,t=3,p=4$"  # argon2-cffi's RFC 9106 low-memory profile


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.TEST_COST_ENV, raising=False)


def test_the_suite_runs_at_the_test_cost():
    assert auth.hash_password("mat-khau-thu").startswith("$argon2id$v=19$m=64,t=1,p=1$")


def test_without_the_variable_passwords_are_hashed_at_the_real_cost(production):
    stored = auth.hash_password("mat-khau-dung")
    assert stored.startswith(PRODUCTION)
    assert auth.check_password("mat-khau-dung", stored)
    assert not auth.check_password("mat-khau-sai", stored)
    assert not auth.needs_rehash(stored)


def test_a_hash_made_at_the_test_cost_is_upgraded_at_the_real_cost(monkeypatch, production):
    monkeypatch.setenv(auth.TEST_COST_ENV, "1")
    cheap = auth.hash_password("mat-khau-dung")
    monkeypatch.delenv(auth.TEST_COST_ENV)
    assert auth.check_password("mat-khau-dung", cheap)  # still logs in...
    assert auth.needs_rehash(cheap)  # ...and is hashed again at the real cost


def test_an_unknown_account_is_refused_at_the_real_cost(production, verified):
    assert not auth.verify_login(None, "mat-khau-dung")
    assert len(verified) == 1
    assert verified[0].startswith(PRODUCTION)  # the decoy costs what a real account's hash does
