"""Duplicate detection by CAP's own identity (sender, identifier, sent).

The controller keeps the keys in its database; `key_string` gives it one canonical text per key,
so "+07:00" and "Z" spellings of the same instant compare equal in a UNIQUE column.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC

from controller.emergency.cap.models import CapKey


def key_string(key: CapKey) -> str:
    """Canonical "sender,identifier,sent" with `sent` in UTC ISO 8601."""
    sender, identifier, sent = key
    return f"{sender},{identifier},{sent.astimezone(UTC).isoformat()}"


def is_duplicate(key: CapKey, seen_keys: Container[str]) -> bool:
    """True if `key` (canonicalised by `key_string`) is already among `seen_keys`."""
    return key_string(key) in seen_keys
