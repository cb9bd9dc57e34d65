"""Phone numbers at rest: encrypted (Fernet: AES-128-CBC + HMAC-SHA256), with a keyed hash
(HMAC-SHA256) to find a number again without decrypting any.

Both keys live in one file, ``data_dir/keys/subscribers.key`` (0600), made on first use; a
backup that holds the database without this file holds no number. The database never sees a
number's digits.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from controller.private_files import private_dir, write_private


@dataclass(frozen=True)
class Vault:
    fernet_key: bytes
    hash_key: bytes

    def seal(self, number: str) -> str:
        return Fernet(self.fernet_key).encrypt(number.encode()).decode()

    def open(self, sealed: str) -> str:
        return Fernet(self.fernet_key).decrypt(sealed.encode()).decode()

    def lookup(self, number: str) -> str:
        """The same number always gives the same value; without the key, guessing the ten
        digits behind it is as hard as guessing the key."""
        return hmac.new(self.hash_key, number.encode(), hashlib.sha256).hexdigest()

    def tag(self, purpose: str, value: str, length: int = 20) -> str:
        """A short keyed tag for ``value`` (an unsubscribe link), checked with ``matches``."""
        digest = hmac.new(self.hash_key, f"{purpose}:{value}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode()[:length]

    def matches(self, purpose: str, value: str, tag: str) -> bool:
        return hmac.compare_digest(self.tag(purpose, value, len(tag) or 1), tag)


def key_file(data_dir: Path) -> Path:
    return data_dir / "keys" / "subscribers.key"


def load_vault(data_dir: Path) -> Vault:
    """The commune's vault, made (0600) on first use."""
    path = key_file(data_dir)
    if not path.exists():
        private_dir(path.parent)
        fresh = Fernet.generate_key() + b"\n" + base64.urlsafe_b64encode(secrets.token_bytes(32))
        draft = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
        write_private(draft, fresh + b"\n")
        # linked, never replaced: a key another process made first is kept (numbers sealed
        # with it would be lost otherwise)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    fernet_key, hash_key = path.read_bytes().split()
    return Vault(fernet_key, base64.urlsafe_b64decode(hash_key))
