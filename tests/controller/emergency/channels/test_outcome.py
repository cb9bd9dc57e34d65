"""Back-off: exponential with jitter, bounded, and the server's Retry-After honoured."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from controller.channel_settings import RetrySettings
from controller.emergency.channels.outcome import (
    delay_s,
    failed,
    of_response,
    retry_after,
    transient,
)

RETRY = RetrySettings(base_delay_s=5, max_delay_s=300)


def test_waits_double_with_jitter_and_stop_growing_at_the_ceiling():
    rng = random.Random(1)
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (7, 300), (12, 300)]:
        waits = [delay_s(attempt, RETRY, transient("503"), rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 100  # spread out, not all at once


def test_retry_after_is_honoured_within_the_longest_wait():
    rng = random.Random(2)
    assert delay_s(1, RETRY, transient("429", retry_after_s=120), rng) == 120
    assert delay_s(1, RETRY, transient("429", retry_after_s=9999), rng) == 300


def test_retry_after_reads_seconds_and_dates():
    at = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    seconds = httpx.Response(429, headers={"Retry-After": "30"})
    dated = httpx.Response(
        503, headers={"Retry-After": format_datetime(at + timedelta(seconds=90), usegmt=True)}
    )
    assert retry_after(seconds) == 30
    assert retry_after(dated, now=at) == 90
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None


def test_which_answers_are_worth_another_try():
    assert of_response(httpx.Response(200)) is None
    assert of_response(httpx.Response(500, text="down")) == transient("HTTP 500: down")
    limited = of_response(httpx.Response(429, headers={"Retry-After": "7"}))
    assert limited is not None
    assert (limited.retryable, limited.retry_after_s) == (True, 7)
    assert of_response(httpx.Response(401, text="bad key")) == failed("HTTP 401: bad key")
    assert of_response(httpx.Response(400)) == failed("HTTP 400")
