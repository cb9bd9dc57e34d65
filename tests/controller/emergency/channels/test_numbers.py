"""Phone numbers: normalised to E.164, refused with the reason, sealed at rest."""

from __future__ import annotations

import stat

import pytest

from controller.emergency.channels import phones
from controller.emergency.channels.vault import key_file, load_vault
from controller.errors import InvalidInputError


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "+84912345678",
        "84912345678",
        "(+84) 912-345-678",
        "0084912345678",
    ],
)
def test_every_way_of_writing_a_number_is_the_same_number(raw):
    assert phones.normalise(raw) == "+84912345678"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("091234567", "10 digits"),
        ("09123456789", "10 digits"),
        ("0243 826 1234", "10 digits"),
        ("0212345678", "not a mobile number"),
        ("0612345678", "not a mobile number"),
        ("09a2345678", "only digits"),
        ("", "10 digits"),
    ],
)
def test_a_wrong_number_is_refused_with_the_reason(raw, why):
    with pytest.raises(InvalidInputError) as refused:
        phones.normalise(raw)
    assert why in refused.value.en
    assert refused.value.field == "phone"
    assert "0912 345 678" in refused.value.vi


def test_masked_shows_only_the_network_and_the_last_two_digits():
    assert phones.masked("+84912345678") == "+8491*****78"


def test_the_vault_seals_opens_and_finds_a_number(tmp_path):
    vault = load_vault(tmp_path)
    sealed = vault.seal("+84912345678")
    assert "912345678" not in sealed
    assert vault.open(sealed) == "+84912345678"
    assert vault.lookup("+84912345678") == load_vault(tmp_path).lookup("+84912345678")
    assert vault.lookup("+84912345678") != vault.lookup("+84912345679")
    assert stat.S_IMODE(key_file(tmp_path).stat().st_mode) == 0o600
    assert load_vault(tmp_path) == vault  # the key is made once and kept


def test_a_tag_is_checked_in_full(tmp_path):
    vault = load_vault(tmp_path)
    tag = vault.tag("unsubscribe", "7", 12)
    assert vault.matches("unsubscribe", "7", tag)
    assert not vault.matches("unsubscribe", "8", tag)
    assert not vault.matches("unsubscribe", "7", tag[:-1] + ("A" if tag[-1] != "A" else "B"))
    assert not vault.matches("unsubscribe", "7", "")
