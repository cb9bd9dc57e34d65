from __future__ import annotations

import datetime as dt

import pytest

from schedules import LOCAL, late_start, late_start_allowed

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=LOCAL)
GRACE = dt.timedelta(minutes=10)


def test_on_time_and_early_are_allowed() -> None:
    assert late_start_allowed(T0, T0, GRACE)
    assert late_start_allowed(T0, T0 - dt.timedelta(hours=1), GRACE)
    assert late_start(T0, T0, GRACE).reason == "on time"


def test_within_grace_inclusive() -> None:
    d = late_start(T0, T0 + GRACE, GRACE)
    assert d.allowed
    assert d.late_by_s == 600
    assert d.reason == "started 600 s late, within the 600 s grace window"


def test_beyond_grace_is_missed_with_reason() -> None:
    d = late_start(T0, T0 + GRACE + dt.timedelta(seconds=1), GRACE)
    assert not d.allowed
    assert d.reason == "missed: node was 601 s late, beyond the 600 s grace window"
    assert d.reason_vi == "bị lỡ: trễ 601 giây, quá thời gian cho phép 600 giây"


def test_utc_and_local_compare_as_instants() -> None:
    assert late_start_allowed(T0, T0.astimezone(dt.UTC) + dt.timedelta(minutes=5), GRACE)


def test_naive_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        late_start_allowed(T0.replace(tzinfo=None), T0, GRACE)
