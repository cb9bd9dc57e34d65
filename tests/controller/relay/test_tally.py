"""A run's account of what it relayed and where it filled: one gap per absence, with the
first reason, from the first silence to the station's return."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.relay.runner import SourceFailed, Tally


def test_a_drop_is_one_gap_from_the_first_silence_to_the_stations_return():
    tally = Tally()
    tally.source_back(48000)
    tally.fill(4800)  # the queue ran dry: silence before anyone knew why
    first_silence = tally.filling_since
    tally.failed(SourceFailed("ended", "the station's stream ended"))
    tally.fill(4800)
    tally.failed(SourceFailed("unreachable", "HTTP 404"))  # the retries say more; one gap
    assert tally.gaps == []  # still open
    tally.source_back(960)
    [gap] = tally.gaps
    assert gap["reason"] == "ended"
    assert first_silence is not None
    assert gap["start"] == first_silence.isoformat()
    assert datetime.fromisoformat(gap["end"]) >= first_silence
    assert (tally.relayed, tally.filled) == (48960, 9600)


def test_a_short_lull_with_no_failure_is_filled_but_is_no_gap():
    tally = Tally()
    tally.fill(4800)
    tally.source_back(960)
    assert tally.gaps == []
    assert tally.filled == 4800


def test_a_second_of_silence_with_no_failure_is_a_stall():
    tally = Tally()
    for _ in range(10):
        tally.fill(4800)
    tally.source_back(960)
    [gap] = tally.gaps
    assert gap["reason"] == "stalled"
    assert "1.0 s" in gap["detail"]


def test_a_failure_the_queue_covered_was_not_heard_and_is_no_gap():
    tally = Tally()
    tally.failed(SourceFailed("ended", "the station's stream ended"))
    tally.source_back(960)  # the reader was back before the queue ran dry
    assert tally.gaps == []


def test_a_source_still_away_at_the_windows_end_closes_its_gap_there():
    tally = Tally()
    tally.failed(SourceFailed("unreachable", "connection refused"))
    end = datetime(2026, 12, 6, 6, 30, tzinfo=UTC)
    tally.end(end)
    [gap] = tally.gaps
    assert (gap["reason"], gap["end"]) == ("unreachable", end.isoformat())
