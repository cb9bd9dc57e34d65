"""What one try to send a message gave, and when to try again.

Timeouts, connection errors, 5xx and 429 are worth another try (429 and 503 after the
``Retry-After`` the server asked for, if any); any other answer is final. Waits grow
exponentially with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), so a
hundred messages failing together do not all come back at the same second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from controller.channel_settings import RetrySettings


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str = ""
    retryable: bool = False
    retry_after_s: float | None = None


SENT = Outcome(ok=True)


def failed(reason: str) -> Outcome:
    return Outcome(ok=False, reason=reason)


def transient(reason: str, retry_after_s: float | None = None) -> Outcome:
    return Outcome(ok=False, reason=reason, retryable=True, retry_after_s=retry_after_s)


def delay_s(
    attempt: int, settings: RetrySettings, outcome: Outcome, rng: random.Random | None = None
) -> float:
    """The wait before try ``attempt + 1``, after try ``attempt`` (1-based) gave ``outcome``."""
    ceiling = min(settings.max_delay_s, settings.base_delay_s * 2 ** (attempt - 1))
    jittered = (rng or random.Random()).uniform(ceiling / 2, ceiling)
    if outcome.retry_after_s is not None:  # the server's wish, within our own longest wait
        return min(max(outcome.retry_after_s, jittered), settings.max_delay_s)
    return jittered


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), None if absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def of_response(response: httpx.Response) -> Outcome | None:
    """A failed HTTP answer as an outcome; None for a 2xx (the channel reads its body)."""
    if response.is_success:
        return None
    reason = f"HTTP {response.status_code}: {response.text[:200].strip()}".rstrip(": ")
    if response.status_code == 429 or response.status_code >= 500:
        return transient(reason, retry_after(response))
    return failed(reason)


def post(client: httpx.Client, url: str, **kwargs: object) -> httpx.Response | Outcome:
    """POST, with a timeout or a connection failure turned into a transient outcome."""
    try:
        return client.post(url, **kwargs)  # type: ignore[arg-type]
    except httpx.TimeoutException:
        return transient(f"no answer from {host(url)} in time")
    except httpx.HTTPError as exc:
        return transient(f"cannot reach {host(url)}: {exc.__class__.__name__}")


def host(url: str) -> str:
    return httpx.URL(url).host or url
