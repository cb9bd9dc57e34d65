"""The relay URL guard: an approver's account must not make the controller fetch inside."""

from __future__ import annotations

import pytest

from controller.errors import InvalidInputError
from controller.relay.url import check_url


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


PUBLIC = resolver({"radio.vov.vn": ["203.113.131.1"], "lan.radio": ["192.168.1.20"]})


def test_a_public_station_is_accepted():
    url = "https://radio.vov.vn/vov1.mp3"
    assert check_url(url, [], PUBLIC) == url


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "relay.scheme"),
        ("ftp://radio.vov.vn/a.mp3", "relay.scheme"),
        ("rtmp://radio.vov.vn/live", "relay.scheme"),
        ("radio.vov.vn/vov1.mp3", "relay.scheme"),
        ("http://user:pw@radio.vov.vn/a.mp3", "relay.credentials"),
        ("http:///a.mp3", "relay.url"),
        ("http://127.0.0.1:1883/", "relay.internal"),
        ("http://localhost:8080/api", "relay.internal"),
        ("http://10.1.2.3/", "relay.internal"),
        ("http://169.254.169.254/latest/meta-data/", "relay.internal"),
        ("http://[::1]/", "relay.internal"),
        ("http://[::ffff:127.0.0.1]/", "relay.internal"),
        ("http://0.0.0.0/", "relay.internal"),
        ("http://lan.radio/stream", "relay.internal"),
    ],
)
def test_other_schemes_credentials_and_internal_addresses_are_refused(url, code):
    table = {
        "localhost": ["127.0.0.1", "::1"],
        "127.0.0.1": ["127.0.0.1"],
        "10.1.2.3": ["10.1.2.3"],
        "169.254.169.254": ["169.254.169.254"],
        "::1": ["::1"],
        "::ffff:127.0.0.1": ["::ffff:127.0.0.1"],
        "0.0.0.0": ["0.0.0.0"],
        "lan.radio": ["192.168.1.20"],
        "radio.vov.vn": ["203.113.131.1"],
    }
    with pytest.raises(InvalidInputError) as refused:
        check_url(url, [], resolver(table))
    assert refused.value.code == code
    assert refused.value.vi  # a sentence for the approver, in Vietnamese


def test_a_name_that_resolves_to_any_internal_address_is_refused():
    mixed = resolver({"rebind.example": ["203.113.131.1", "127.0.0.1"]})
    with pytest.raises(InvalidInputError, match="internal"):
        check_url("http://rebind.example/a.mp3", [], mixed)


def test_the_operator_may_allow_a_station_on_the_lan():
    url = "http://lan.radio/stream"
    assert check_url(url, ["192.168.1.0/24"], PUBLIC) == url
    assert check_url(url, ["lan.radio"], PUBLIC) == url
    with pytest.raises(InvalidInputError):
        check_url(url, ["192.168.2.0/24"], PUBLIC)


def test_a_name_that_does_not_resolve_is_refused_with_a_reason():
    with pytest.raises(InvalidInputError) as refused:
        check_url("http://khong-co.invalid/a.mp3", [])
    assert refused.value.code == "relay.unresolved"
