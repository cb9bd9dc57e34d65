"""One controller key pair for the protocol tests, made once per run (never a committed key)."""

from __future__ import annotations

from protocol.signing import load_public_key, new_private_key, public_key_b64

KEY = new_private_key()
PUB = load_public_key(public_key_b64(KEY))
