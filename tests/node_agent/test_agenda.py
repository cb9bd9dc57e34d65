"""The player's agenda alone, with the time passed in: what plays, what waits, what pre-empts
and what resumes. No threads, no sinks, no clock."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from node_agent.agenda import (
    ALERT_EXPIRED,
    LIVE,
    RESUME_BACKUP_S,
    Agenda,
    Announce,
    Cancellation,
    Entry,
    Expired,
    GoLive,
    Hold,
    Idle,
    Play,
    PlayTone,
    Preempt,
    Refuse,
    Resume,
    Silenced,
    Tone,
    Wait,
    cut_off,
    refusal,
    resume_frame,
)
from protocol.messages import AudioRef, PlayCommand

NOW = 1_800_000_000.0  # a fixed "now", in epoch seconds
PREROLL = 0.5
RATE = 8000


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(NOW + seconds, UTC)


def command(play_id: str, *, start: float | None = None, **kw: object) -> PlayCommand:
    fields: dict[str, object] = {"valid_until": at(300), **kw}
    if start is not None:
        fields["play_at"] = at(start)
    return PlayCommand(
        play_id=play_id,
        bulletin_id=play_id,
        audio=AudioRef(sha256="0" * 64, size=1, duration_s=1.0),
        **fields,
    )


def entry(play_id: str, *, start: float | None = None, **kw: object) -> Entry:
    return Entry(command(play_id, start=start, **kw))


def tone(label: str = "tone") -> Tone:
    return Tone(label, np.zeros(RATE, dtype=np.float32), RATE)


def agenda(*entries: Entry) -> Agenda:
    a = Agenda(PREROLL)
    for e in entries:
        a.add(e)
    return a


# --- what plays now and what waits ------------------------------------------------------------
def test_an_empty_agenda_is_idle() -> None:
    assert agenda().next(NOW) == Idle()


def test_a_future_item_waits_for_its_pre_roll() -> None:
    a = agenda(entry("later", start=60))
    assert a.next(NOW) == Wait(NOW + 60 - PREROLL)
    assert a.next(NOW + 60 - PREROLL - 0.01) == Wait(NOW + 60 - PREROLL)


def test_an_item_plays_from_its_pre_roll() -> None:
    a = agenda(entry("news", start=60))
    decision = a.next(NOW + 60 - PREROLL)
    assert isinstance(decision, Play)
    assert decision.entry.play_id == "news"
    assert a.next(NOW + 60) == Idle()  # taken off the agenda: it is on air


def test_the_earliest_due_of_equal_rank_plays_first_and_the_higher_rank_before_it() -> None:
    filler = entry("filler", start=-30, priority="filler")
    a = agenda(entry("b", start=-10), entry("a", start=-20), filler)
    order = []
    for _ in range(3):
        decision = a.next(NOW)
        assert isinstance(decision, Play)
        order.append(decision.entry.play_id)
        a.off_air()
    assert order == ["a", "b", "filler"]
    emergency = agenda(entry("news", start=-20), entry("storm", start=-1, priority="emergency"))
    first = emergency.next(NOW)
    assert isinstance(first, Play)
    assert first.entry.play_id == "storm"


def test_priority_does_not_outrank_normal() -> None:
    a = agenda(entry("normal", start=-20), entry("priority", start=-10, priority="priority"))
    first = a.next(NOW)
    assert isinstance(first, Play)
    assert first.entry.play_id == "normal"


# --- pre-emption ------------------------------------------------------------------------------
def test_nothing_on_air_means_nothing_to_pre_empt() -> None:
    assert agenda(entry("storm", start=10, priority="emergency")).preemption() is None


def test_a_higher_item_falling_due_pre_empts_what_is_on_air() -> None:
    a = agenda(entry("news", start=0))
    assert isinstance(a.next(NOW), Play)
    assert a.preemption() is None
    a.add(entry("later", start=5))  # same rank: waits its turn
    assert a.preemption() is None
    a.add(entry("storm", start=30, priority="emergency"))
    a.add(entry("flood", start=20, priority="emergency"))
    assert a.preemption() == Preempt(NOW + 20, "pre-empted by emergency flood")


def test_an_emergency_does_not_pre_empt_an_emergency() -> None:
    a = agenda(entry("storm", start=0, priority="emergency"))
    assert isinstance(a.next(NOW), Play)
    a.add(entry("flood", start=5, priority="emergency"))
    assert a.preemption() is None


def test_a_filler_is_pre_empted_by_a_bulletin_and_a_test_tone_by_anything() -> None:
    a = agenda(entry("music", start=0, priority="filler"))
    assert isinstance(a.next(NOW), Play)
    a.add(entry("news", start=10))
    assert a.preemption() == Preempt(NOW + 10, "pre-empted by normal news")
    t, test_tone = agenda(), tone()
    assert t.offer_tone(test_tone, NOW) == ""
    decision = t.next(NOW)
    assert isinstance(decision, PlayTone)
    assert decision.tone is test_tone
    t.add(entry("music", start=10, priority="filler"))
    assert t.preemption() == Preempt(NOW + 10, "pre-empted by filler music")


def test_an_announced_emergency_cuts_into_a_bulletin_and_holds_everything_lower() -> None:
    a = agenda(entry("news", start=0))
    assert isinstance(a.next(NOW), Play)
    storm = command("storm", priority="emergency")
    assert a.announce(storm) is True
    assert a.next(NOW) == Announce("storm")
    a.attention_on("storm")
    a.off_air()
    a.attention_off()
    a.add(entry("other", start=-1))
    assert a.next(NOW) == Wait(NOW - 1 - PREROLL)  # held, though due, until the audio comes
    a.add(Entry(storm))
    decision = a.next(NOW)
    assert isinstance(decision, Play)
    assert decision.entry.play_id == "storm"
    assert not a.needs_attention(decision.entry)  # its signal already sounded


def test_an_announced_emergency_does_not_cut_into_an_emergency() -> None:
    a = agenda(entry("flood", start=0, priority="emergency"))
    assert isinstance(a.next(NOW), Play)
    assert a.announce(command("storm", priority="emergency")) is False


# --- resume -----------------------------------------------------------------------------------
def test_a_cut_off_item_resumes_two_seconds_before_the_cut_as_soon_as_it_comes_round() -> None:
    news = entry("news", start=0)
    heard = 5 * RATE
    frame = resume_frame(news, heard, RATE)
    assert frame == heard - int(RESUME_BACKUP_S * RATE)
    resume = cut_off(news, "pre-empted by emergency storm", frame)
    assert (resume.resume_frame, resume.cut_reason, resume.start) == (
        frame,
        "pre-empted by emergency storm",
        0.0,
    )
    assert news.command.play_at is not None  # the original is untouched
    a = agenda(resume)
    assert a.next(NOW) == Resume(resume)


def test_a_second_cut_backs_off_from_where_the_resume_began_and_never_below_zero() -> None:
    news = cut_off(entry("news"), "cut", 3 * RATE)
    assert resume_frame(news, 4 * RATE, RATE) == 5 * RATE
    assert resume_frame(news, 0, RATE) == 1 * RATE
    assert resume_frame(entry("early"), RATE // 2, RATE) == 0


def test_a_resume_with_no_room_left_in_its_window_is_refused_as_interrupted() -> None:
    resume = cut_off(entry("news", window_end=at(10)), "pre-empted by emergency storm", 0)
    assert refusal(resume, NOW, 5 * RATE, RATE) is None  # 5 s fit before the window's end
    assert refusal(resume, NOW + 6, 5 * RATE, RATE) == Refuse(
        "interrupted (pre-empted by emergency storm); no time left in its window to resume",
        interrupted=True,
    )
    part = cut_off(entry("news", window_end=at(10)), "cut", 4 * RATE)
    assert refusal(part, NOW + 8, 5 * RATE, RATE) is None  # only 1 s left to play


# --- expiry -----------------------------------------------------------------------------------
def test_an_item_not_started_by_its_validity_is_missed() -> None:
    late = entry("old", start=-600, valid_until=at(-300))
    missed = refusal(late, NOW, RATE, RATE)
    assert missed is not None
    assert missed.reason.startswith("missed: not started by")
    assert missed.interrupted is False
    assert refusal(entry("fresh", start=-1), NOW, RATE, RATE) is None


def test_a_resume_is_not_missed_for_its_validity_only_for_its_window() -> None:
    resume = cut_off(entry("news", valid_until=at(-1), window_end=at(60)), "cut", 0)
    assert refusal(resume, NOW, RATE, RATE) is None


def test_an_announced_emergency_whose_audio_never_came_expires() -> None:
    a = agenda()
    a.announce(command("storm", priority="emergency", valid_until=at(30)))
    assert a.next(NOW) == Announce("storm")
    a.attention_on("storm")
    a.attention_off()
    assert a.next(NOW + 29) == Idle()
    assert a.next(NOW + 31) == Expired("storm", ALERT_EXPIRED)
    assert a.next(NOW + 31) == Idle()
    assert not a.emergency(NOW + 31)


def test_an_announced_emergency_whose_audio_cannot_come_is_given_up_at_once() -> None:
    """Its failure is reported when the download fails: it must neither hold the programme
    until it lapses nor expire into a second report."""
    a = agenda(entry("news", start=0))
    a.announce(command("storm", priority="emergency", valid_until=at(30)))
    assert a.next(NOW) == Announce("storm")
    a.attention_on("storm")
    assert a.give_up("storm") is True  # its attention signal is on air: the caller cuts it
    a.attention_off()
    assert isinstance(a.next(NOW), Play)  # the bulletin it held goes on
    a.off_air()
    assert a.next(NOW + 31) == Idle()  # no Expired: reported once
    assert not a.emergency(NOW)


# --- the test tone, cancel and stop -----------------------------------------------------------
def test_a_test_tone_is_refused_during_an_emergency_an_item_or_another_tone() -> None:
    a = agenda(entry("storm", start=-1, priority="emergency"))
    assert "emergency" in a.offer_tone(tone(), NOW)
    b = agenda(entry("news", start=0))
    assert isinstance(b.next(NOW), Play)
    assert b.offer_tone(tone(), NOW) == "news is on air; stop it first to test"
    c = agenda()
    assert c.offer_tone(tone("t1"), NOW) == ""
    assert c.offer_tone(tone("t2"), NOW) == "a test tone is already playing"


def test_a_test_tone_waits_behind_an_announced_emergency() -> None:
    a = agenda()
    assert a.offer_tone(tone(), NOW) == ""
    a.announce(command("storm", priority="emergency"))
    assert a.next(NOW) == Announce("storm")
    a.attention_on("storm")
    a.attention_off()
    assert a.next(NOW) == Idle()


def test_cancel_says_what_it_found() -> None:
    a = agenda(entry("later", start=60), entry("news", start=0))
    assert a.cancel("later") == Cancellation("queued")
    assert a.cancel("unknown") == Cancellation(None)
    assert isinstance(a.next(NOW), Play)
    assert a.cancel("news") == Cancellation("playing", cut=True)
    a.off_air()
    a.announce(command("storm", priority="emergency"))
    assert a.next(NOW) == Announce("storm")
    a.attention_on("storm")
    assert a.cancel("storm") == Cancellation("playing", cut=True, report=True)


def test_silence_cuts_what_sounds_and_what_would_sound_again_and_keeps_the_programme() -> None:
    news = cut_off(entry("news"), "pre-empted by emergency storm", RATE)
    a = agenda(news, entry("later", start=60))
    a.announce(command("storm", priority="emergency"))
    assert a.next(NOW) == Announce("storm")
    a.attention_on("storm")
    silenced = a.silence(NOW)
    assert silenced.cut
    assert silenced.report == ("storm", "news")
    assert silenced.play_ids == ("storm", "news")
    a.attention_off()
    assert a.next(NOW) == Wait(NOW + 60 - PREROLL)  # the later item stays scheduled


def test_silence_during_a_pre_roll_leaves_the_item_to_start() -> None:
    a = agenda(entry("news", start=PREROLL))
    assert isinstance(a.next(NOW), Play)
    assert a.silence(NOW) == Silenced(cut=False, report=(), play_ids=())  # still in pre-roll
    on_air = agenda(entry("news", start=0))
    assert isinstance(on_air.next(NOW), Play)
    silenced = on_air.silence(NOW)
    assert (silenced.cut, silenced.report, silenced.play_ids) == (True, (), ("news",))


# --- live sessions (node_agent/live_stream.py): between bulletins and emergencies -------------


def test_live_cuts_into_a_bulletin_on_air_and_goes_on_air_next():
    agenda = Agenda(PREROLL)
    agenda.add(entry("news"))
    assert isinstance(agenda.next(NOW), Play)
    live = object()
    assert agenda.offer_live(live)  # cuts into the bulletin
    agenda.off_air()
    agenda.add(cut_off(entry("news"), "pre-empted by live", 0))  # as the player requeues it
    assert agenda.next(NOW) == GoLive(live)
    assert agenda.on_air_rank() == LIVE
    assert agenda.preemption() is None  # the bulletin waits: it resumes after the session
    agenda.off_air()
    assert isinstance(agenda.next(NOW), Resume)


def test_an_emergency_pre_empts_live_and_live_waits_for_one():
    agenda = Agenda(PREROLL)
    live = object()
    assert not agenda.offer_live(live)  # nothing on air: nothing to cut
    assert agenda.next(NOW) == GoLive(live)
    agenda.add(entry("storm", priority="emergency", start=5))
    assert agenda.preemption() == Preempt(NOW + 5, "pre-empted by emergency storm")
    agenda.off_air()
    later = object()
    agenda.announce(command("flood", priority="emergency", valid_until=at(60)))
    agenda.offer_live(later)
    assert agenda.next(NOW) == Announce("flood")  # the alarm first, live waits
    agenda.attention_on("flood")
    agenda.attention_off()
    agenda.add(entry("flood", priority="emergency"))
    assert isinstance(agenda.next(NOW), Play)
    agenda.off_air()
    assert agenda.next(NOW) == GoLive(later)


def test_a_new_live_session_replaces_an_older_one_on_air():
    agenda = Agenda(PREROLL)
    old, new = object(), object()
    agenda.offer_live(old)
    assert agenda.next(NOW) == GoLive(old)
    assert agenda.offer_live(new)
    agenda.off_air()
    assert agenda.next(NOW) == GoLive(new)


def test_a_stop_cuts_live_and_drops_a_waiting_session():
    agenda = Agenda(PREROLL)
    agenda.offer_live(object())
    agenda.next(NOW)
    assert agenda.silence(NOW).cut
    agenda.off_air()
    waiting = object()
    agenda.offer_live(waiting)
    assert agenda.waiting_live() is waiting
    agenda.silence(NOW)
    assert agenda.waiting_live() is None
    assert not agenda.drop_live(waiting)
    assert isinstance(agenda.next(NOW), Idle)


# --- a node whose clock is wrong holds what is due at a set time ----------------------------
WRONG = "this point's clock is 10 min 0 s ahead of the controller's"
AHEAD = Hold(WRONG, 600.0)


def test_a_wrong_clock_holds_timed_items_and_lets_now_items_play():
    agenda = Agenda(PREROLL)
    agenda.add(entry("bulletin", start=1))
    agenda.add(entry("alert", priority="emergency"))  # "at once": no clock involved
    decision = agenda.next(NOW + 600, AHEAD)
    assert isinstance(decision, Play)
    assert decision.entry.play_id == "alert"
    agenda.off_air()
    assert agenda.next(NOW + 600, AHEAD) == Wait(NOW + 601)  # looks again soon, never spins
    decision = agenda.next(NOW + 2)  # the clock is right again: it plays, still valid
    assert isinstance(decision, Play)
    assert decision.entry.play_id == "bulletin"
    assert decision.entry.held == WRONG


def test_an_emergency_set_for_a_time_is_never_held():
    agenda = Agenda(PREROLL)
    agenda.add(entry("alert", start=1, priority="emergency"))
    decision = agenda.next(NOW + 600, AHEAD)
    assert isinstance(decision, Play)
    assert decision.entry.held == ""


def test_an_item_held_past_its_validity_says_why_it_missed():
    agenda = Agenda(PREROLL)
    agenda.add(entry("bulletin", start=1, valid_until=at(60)))
    agenda.next(NOW + 2, Hold(WRONG, 10.5))
    decision = agenda.next(NOW + 120)
    assert isinstance(decision, Play)
    refused = refusal(decision.entry, NOW + 120, RATE, RATE)
    assert refused is not None
    assert refused.reason.endswith(f"(held: {WRONG})")
    assert refused.reason.startswith("missed: not started by ")


def test_a_future_item_is_not_held_before_it_is_due():
    agenda = Agenda(PREROLL)
    agenda.add(entry("later", start=100))
    assert agenda.next(NOW, AHEAD) == Wait(NOW + 100 - PREROLL)


def test_behind_an_item_due_by_the_true_time_is_marked_held_while_it_waits():
    """10 min behind, the bulletin is not due by the node's clock, but it is by the
    controller's: it waits for the clock (as it would anyway), and says so if it lapses."""
    agenda = Agenda(PREROLL)
    agenda.add(entry("bulletin", start=1, valid_until=at(60)))
    agenda.add(entry("later", start=900))
    behind = Hold("this point's clock is 10 min 0 s behind the controller's", -600.0)
    assert agenda.next(NOW - 598, behind) == Wait(NOW - 597)
    decision = agenda.next(NOW + 120)  # set right: due, and past its validity
    assert isinstance(decision, Play)
    assert decision.entry.held == behind.reason
    agenda.off_air()
    assert agenda.next(NOW + 120) == Wait(NOW + 900 - PREROLL)
    later = agenda.next(NOW + 900)
    assert isinstance(later, Play)
    assert later.entry.held == ""  # not due by either clock while it was wrong: not marked
