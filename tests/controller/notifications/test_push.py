"""Web Push without the internet: a local HTTP server stands in for the browser's push service.
What it receives must be a real Web Push request, encrypted for the subscription (RFC 8291,
decrypted here with the browser's private key) and signed with the controller's VAPID key
(RFC 8292); a push service that says the subscription is gone (410) has it removed."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from controller import notifications
from controller.config import ControllerConfig
from controller.errors import InvalidInputError
from controller.models import Bulletin, Notification, PushSubscription, User
from controller.notifications import push
from tests.controller.commune import Commune


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService(BaseHTTPRequestHandler):
    """Keeps every request; answers 410 Gone under /gone, 201 Created elsewhere."""

    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(410 if self.path.startswith("/gone") else 201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    received: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Handler", (PushService,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def browser_keys() -> tuple[ec.EllipticCurvePrivateKey, bytes, dict[str, str]]:
    """What a browser makes when it subscribes: a P-256 key pair and an auth secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth = os.urandom(16)
    return key, auth, {"p256dh": b64(public), "auth": b64(auth)}


def subscribe(
    commune: Commune, config: ControllerConfig, endpoint: str, keys: dict[str, str]
) -> None:
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == "phatthanh")).one()
        push.subscribe(s, config, user, {"endpoint": endpoint, "keys": keys})


def served_by(commune: Commune, *origins: str) -> ControllerConfig:
    """The commune's configuration with these origins as its push services."""
    return commune.config.model_copy(update={"push_services": list(origins)})


def reject_one(commune: Commune) -> None:
    bulletin = commune.bulletin(status="pending")
    with commune.db.session() as s:
        notifications.rejected(s, s.get_one(Bulletin, bulletin.id), "Thiếu giờ họp")


def verify_vapid(config, endpoint: str, authorization: str) -> dict[str, object]:
    """The JWT in ``vapid t=..., k=...``: signed by the controller's key, for this origin."""
    parts = dict(p.strip().split("=", 1) for p in authorization.removeprefix("vapid ").split(","))
    assert parts["k"] == push.public_key(config)
    header, claims, signature = parts["t"].split(".")
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    point = unb64(parts["k"])
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    found: dict[str, object] = json.loads(unb64(claims))
    origin = urlsplit(endpoint)
    assert found["aud"] == f"{origin.scheme}://{origin.netloc}"
    return found


def test_a_notification_arrives_encrypted_and_signed_at_the_push_service(commune, service):
    base, received = service
    config = served_by(commune, base)
    browser, auth, keys = browser_keys()
    subscribe(commune, config, f"{base}/push/abc", keys)
    reject_one(commune)

    done = push.send_pending(commune.db, config)

    assert (done.sent, done.failed, done.removed) == (1, 0, [])
    [(path, headers, body)] = received
    assert path == "/push/abc"
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    claims = verify_vapid(commune.config, f"{base}/push/abc", headers["authorization"])
    assert str(claims["sub"]).startswith(("mailto:", "https://"))
    message = json.loads(http_ece.decrypt(body, private_key=browser, auth_secret=auth))
    assert message["title"] == commune.config.commune_name
    assert "bị từ chối" in message["body"]
    assert "Thiếu giờ họp" in message["body"]
    assert message["url"].startswith("/bulletins/")
    # sent once: the next pass has nothing to send
    assert push.send_pending(commune.db, config).sent == 0
    assert len(received) == 1


def test_a_subscription_the_push_service_says_is_gone_is_removed(commune, service):
    base, _received = service
    config = served_by(commune, base)
    _, _, keys = browser_keys()
    subscribe(commune, config, f"{base}/gone/xyz", keys)
    _, _, other = browser_keys()
    subscribe(commune, config, f"{base}/push/kept", other)
    reject_one(commune)

    done = push.send_pending(commune.db, config)

    assert done.removed == [f"{base}/gone/xyz"]
    assert done.sent == 1
    with commune.db.session() as s:
        assert list(s.scalars(select(PushSubscription.endpoint))) == [f"{base}/push/kept"]
        assert all(s.scalars(select(Notification.pushed)))


def test_an_unreachable_push_service_does_not_stop_the_others(commune, service):
    base, received = service
    config = served_by(commune, base, "http://127.0.0.1:9")  # nothing listens on the second
    _, _, keys = browser_keys()
    subscribe(commune, config, "http://127.0.0.1:9/push/dead", keys)
    _, _, other = browser_keys()
    subscribe(commune, config, f"{base}/push/alive", other)
    reject_one(commune)

    done = push.send_pending(commune.db, config)

    assert (done.sent, done.failed) == (1, 1)
    assert [path for path, _, _ in received] == ["/push/alive"]


def test_the_vapid_key_is_made_once_and_kept_private(commune):
    first = push.public_key(commune.config)
    assert push.public_key(commune.config) == first
    mode = stat.S_IMODE(push.key_path(commune.config).stat().st_mode)
    assert mode == 0o600


KEYS = {"p256dh": "B" + "A" * 86, "auth": "C" * 22}


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
    ],
)
def test_the_browsers_push_services_are_known(endpoint):
    assert push.known_service(endpoint, ControllerConfig().push_services)


def test_a_push_service_dropped_from_the_list_gets_nothing_more(commune, service):
    base, received = service
    _, _, keys = browser_keys()
    subscribe(commune, served_by(commune, base), f"{base}/push/abc", keys)
    reject_one(commune)
    assert push.send_pending(commune.db, commune.config).sent == 0  # the default list
    assert received == []


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"endpoint": "https://fcm.googleapis.com/fcm/send/1", "keys": {"p256dh": "A" * 87}},
        {"endpoint": "https://fcm.googleapis.com/fcm/send/1", "keys": "nope"},
        # anything but a browser's push service: the controller would post into its own network
        {"endpoint": "http://127.0.0.1:8080/admin/users", "keys": KEYS},
        {"endpoint": "http://fcm.googleapis.com/fcm/send/1", "keys": KEYS},
        {"endpoint": "https://fcm.googleapis.com.evil.example/1", "keys": KEYS},
        {"endpoint": "https://fcm.googleapis.com:8443/1", "keys": KEYS},
    ],
)
def test_a_bad_subscription_is_refused_and_nothing_is_kept(commune, bad):
    with commune.db.session() as s:
        user = s.scalars(select(User).where(User.username == "phatthanh")).one()
        with pytest.raises(InvalidInputError):
            push.subscribe(s, commune.config, user, bad)
    with commune.db.session() as s:
        assert s.scalars(select(PushSubscription)).all() == []
