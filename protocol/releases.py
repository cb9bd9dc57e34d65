"""Signed releases: what the controller's key vouches for in a wheel of ``loalang``.

The signature covers a manifest (version, file name, sha256, size) with its own domain prefix,
so it can never be taken for a command's signature nor a command's for it. The node checks it
with the pinned controller key as soon as the update command arrives, and the wheel's sha256
once it is fetched, so not a byte of an unsigned or altered wheel is ever installed.
"""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.messages import ReleaseRef

DOMAIN = b"loalang-release-v1\n"


class ReleaseSignatureError(Exception):
    """The release is not signed by this node's controller."""


def manifest(version: str, filename: str, sha256: str, size: int) -> bytes:
    fields = {"filename": filename, "sha256": sha256, "size": size, "version": version}
    return DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign_release(
    key: Ed25519PrivateKey, version: str, filename: str, sha256: str, size: int
) -> ReleaseRef:
    signature = key.sign(manifest(version, filename, sha256, size))
    return ReleaseRef(
        version=version,
        filename=filename,
        sha256=sha256,
        size=size,
        signature=base64.b64encode(signature).decode(),
    )


def verify_release(release: ReleaseRef, public_key: Ed25519PublicKey) -> None:
    """Raise ReleaseSignatureError unless the controller signed exactly this release."""
    data = manifest(release.version, release.filename, release.sha256, release.size)
    try:
        public_key.verify(base64.b64decode(release.signature, validate=True), data)
    except (InvalidSignature, ValueError):
        raise ReleaseSignatureError(
            f"release {release.version}: bad signature, not signed by this node's controller"
        ) from None
