"""What the node's player does next, decided from its programme alone.

The agenda holds the queue, the emergencies announced before their audio arrived and what is on
air, and answers with typed decisions: play, resume, announce, play the test tone, wait, or give
up on an alert. It has no threads, no sinks and reads no clock (every method that needs the time
is given it), so each rule of the programme can be tested in microseconds; the player thread
only carries the decisions out, under its own lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from protocol.messages import PlayCommand

# Who may cut into whom: emergency > bulletins > filler. "priority" bulletins go first in their
# slot (the controller orders the slot) but do not cut into a normal one on air.
PRECEDENCE = {"emergency": 3, "priority": 1, "normal": 1, "filler": 0}
EMERGENCY = PRECEDENCE["emergency"]
LIVE = 2  # a live session cuts into bulletins and gives way to an emergency
TONE_RANK = -1  # a test tone gives way to any programme item that falls due
RESUME_BACKUP_S = 2.0  # resume a little before the cut so the listener catches the sentence
ALERT_EXPIRED = "emergency audio did not arrive in time"
HOLD_RECHECK_S = 1.0  # how soon a held item looks again at whether the clock is right


@dataclass(frozen=True)
class Entry:
    command: PlayCommand
    resume_frame: int = 0
    cut_reason: str = ""  # set once it was cut off on air: it is a resume from then on
    held: str = ""  # why it was held back when it fell due (the node's clock was wrong)

    @property
    def play_id(self) -> str:
        return self.command.play_id

    @property
    def start(self) -> float:
        at = self.command.play_at
        return at.timestamp() if at is not None else 0.0

    @property
    def rank(self) -> int:
        return PRECEDENCE.get(self.command.priority, 1)


@dataclass(frozen=True)
class Hold:
    """The node's clock is ``offset_s`` off the controller's (``reason`` says so in words):
    what is due at a set time, by either clock, waits."""

    reason: str
    offset_s: float


@dataclass(frozen=True)
class Tone:
    """Audio made on the node (the test tone): no play id, no report, never resumed."""

    label: str
    samples: np.ndarray
    rate: int


# --- decisions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Play:
    """Play ``entry`` from its start (the player waits out its pre-roll)."""

    entry: Entry


@dataclass(frozen=True)
class Resume:
    """Play the rest of ``entry``, cut off earlier, from its ``resume_frame``."""

    entry: Entry


@dataclass(frozen=True)
class Announce:
    """Sound the attention signal for an emergency whose audio is still loading."""

    play_id: str


@dataclass(frozen=True)
class PlayTone:
    tone: Tone


@dataclass(frozen=True)
class GoLive:
    """Put the live session ``live`` (a node_agent.live_stream.LiveStream) on air."""

    live: object


@dataclass(frozen=True)
class Expired:
    """An announced emergency whose audio never came: report it failed, then ask again."""

    play_id: str
    reason: str = ALERT_EXPIRED


@dataclass(frozen=True)
class Wait:
    """Nothing is due; look again at ``until`` (epoch seconds) at the latest."""

    until: float


@dataclass(frozen=True)
class Idle:
    """Nothing is queued at all."""


Decision = Play | Resume | Announce | PlayTone | GoLive | Expired | Wait | Idle


@dataclass(frozen=True)
class Preempt:
    """Cut what is on air at ``at`` (epoch seconds; now if already past)."""

    at: float
    reason: str


@dataclass(frozen=True)
class Refuse:
    """Do not play ``entry`` after all: report it failed."""

    reason: str
    interrupted: bool = False


@dataclass(frozen=True)
class Cancellation:
    """What a cancel found: ``found`` is what the caller is told, ``cut`` stops what is on air
    as a cancellation, ``report`` means nobody else reports it cancelled."""

    found: Literal["queued", "playing"] | None
    cut: bool = False
    report: bool = False


@dataclass(frozen=True)
class Silenced:
    """What an operator's stop does: ``cut`` stops what is on air as a cancellation;
    ``report`` are the airings to report cancelled here (an item playing reports itself);
    ``play_ids`` are all the airings cut, for the operator."""

    cut: bool
    report: tuple[str, ...]
    play_ids: tuple[str, ...]


def refusal(entry: Entry, now: float, frames: int, rate: int) -> Refuse | None:
    """Why ``entry`` (with ``frames`` of audio at ``rate``) must not start at ``now``: missed
    its validity, or, as a resume, no room left in its window for the rest."""
    item = entry.command
    if not entry.cut_reason and now > item.valid_until.timestamp():
        held = f" (held: {entry.held})" if entry.held else ""
        return Refuse(f"missed: not started by {item.valid_until}{held}")
    window_end = (item.window_end or item.valid_until).timestamp()
    remaining = (frames - entry.resume_frame) / rate
    if entry.cut_reason and now + remaining > window_end:
        return Refuse(
            f"interrupted ({entry.cut_reason}); no time left in its window to resume",
            interrupted=True,
        )
    return None


def resume_frame(entry: Entry, frames_played: int, rate: int) -> int:
    """Where ``entry`` resumes after ``frames_played`` more frames were heard:
    ``RESUME_BACKUP_S`` before the cut, so the listener catches the sentence again."""
    return max(0, entry.resume_frame + frames_played - int(RESUME_BACKUP_S * rate))


def cut_off(entry: Entry, reason: str, frame: int) -> Entry:
    """``entry`` cut off on air: a resume from ``frame``, due as soon as it comes round."""
    return Entry(entry.command.model_copy(update={"play_at": None}), frame, reason)


@dataclass
class Agenda:
    preroll_s: float
    _queue: dict[str, Entry] = field(default_factory=dict)
    _alerts: dict[str, float] = field(default_factory=dict)  # announced, no audio: valid until
    _announced: set[str] = field(default_factory=set)  # attention signal already sounded
    _tone: Tone | None = None  # waiting to play
    _current: Entry | None = None
    _tone_on_air: Tone | None = None
    _attention_for: str | None = None  # the alert whose attention signal is on air
    _live: object | None = None  # a live session waiting to go on air
    _live_on_air: object | None = None

    # --- the programme changes --------------------------------------------------------------
    def add(self, entry: Entry) -> None:
        self._alerts.pop(entry.play_id, None)
        self._queue[entry.play_id] = entry

    def announce(self, command: PlayCommand) -> bool:
        """An emergency without its audio yet; True when it cuts into what is on air."""
        self._alerts[command.play_id] = command.valid_until.timestamp()
        rank = self.on_air_rank()
        return rank is not None and rank < EMERGENCY

    def offer_live(self, live: object) -> bool:
        """A live session opened; True when it cuts into what is on air: a bulletin, or an
        older session (the controller opens one at a time per point, so one still on air here
        is stale). It waits for an emergency, and replaces a session still waiting."""
        self._live = live
        rank = self.on_air_rank()
        return rank is not None and rank <= LIVE

    def requeue_live(self, live: object) -> bool:
        """``live`` was cut by an emergency: it waits to rejoin, unless a newer session does."""
        if self._live is not None:
            return False
        self._live = live
        return True

    def drop_live(self, live: object) -> bool:
        """Forget ``live`` if it is still waiting; True if it was."""
        if self._live is live:
            self._live = None
            return True
        return False

    def waiting_live(self) -> object | None:
        return self._live

    def offer_tone(self, tone: Tone, now: float) -> str:
        """Queue a test tone to play at once; returns why not ("" when it will play)."""
        if self.emergency(now):
            return "an emergency is on air; a test tone never cuts into one"
        if self._current is not None:
            return f"{self._current.play_id} is on air; stop it first to test"
        if self._tone is not None or self._tone_on_air is not None:
            return "a test tone is already playing"
        self._tone = tone
        return ""

    def cancel(self, play_id: str) -> Cancellation:
        queued = self._queue.pop(play_id, None) is not None
        announced = self._alerts.pop(play_id, None) is not None
        if self._current is not None and self._current.play_id == play_id:
            return Cancellation("playing", cut=True)
        if self._attention_for == play_id:
            return Cancellation("playing", cut=True, report=True)
        return Cancellation("queued" if queued or announced else None)

    def silence(self, now: float) -> Silenced:
        """The operator's stop: whatever is sounding (an item past its pre-roll, an attention
        signal, a test tone) and every airing already begun that would otherwise sound again
        (a cut-off item waiting to resume, an alarm waiting for its audio). Items that have not
        started stay scheduled."""
        self._tone = None
        self._live = None
        current, attention = self._current, self._attention_for
        cut, report, play_ids = False, [], []
        if self._live_on_air is not None:
            cut = True
        elif current is not None and current.start <= now:
            cut = True
            play_ids.append(current.play_id)
        else:
            cut = self._tone_on_air is not None
            if current is None and attention is not None:
                cut = True
                self.drop(attention)
                report.append(attention)
                play_ids.append(attention)
        for play_id in self._begun():
            if play_id not in play_ids:
                self.drop(play_id)
                report.append(play_id)
                play_ids.append(play_id)
        return Silenced(cut, tuple(report), tuple(play_ids))

    def drop(self, play_id: str) -> None:
        self._queue.pop(play_id, None)
        self._alerts.pop(play_id, None)
        self._announced.discard(play_id)

    def give_up(self, play_id: str) -> bool:
        """An announced emergency whose audio cannot come: it no longer holds what is lower,
        and never expires into a second report. True when its attention signal is on air."""
        self.drop(play_id)
        return self._attention_for == play_id

    # --- what is on air ---------------------------------------------------------------------
    def emergency(self, now: float) -> bool:
        """An emergency is sounding, announced, or due now."""
        if self._alerts or self._attention_for is not None:
            return True
        if self._current is not None and self._current.rank >= EMERGENCY:
            return True
        return any(
            e.rank >= EMERGENCY and e.start - self.preroll_s <= now for e in self._queue.values()
        )

    def on_air_rank(self) -> int | None:
        if self._current is not None:
            return self._current.rank
        if self._live_on_air is not None:
            return LIVE
        return TONE_RANK if self._tone_on_air is not None else None

    def preemption(self) -> Preempt | None:
        """When and why what is on air must give way to a higher-ranked item, if ever."""
        rank = self.on_air_rank()
        if rank is None:
            return None
        higher = [e for e in self._queue.values() if e.rank > rank]
        if not higher:
            return None
        first = min(higher, key=lambda e: e.start)
        return Preempt(first.start, f"pre-empted by {first.command.priority} {first.play_id}")

    def needs_attention(self, entry: Entry) -> bool:
        """An emergency opens with the attention signal, unless it sounded while loading."""
        return entry.rank >= EMERGENCY and entry.play_id not in self._announced

    def attention_on(self, play_id: str) -> None:
        self._announced.add(play_id)
        self._attention_for = play_id

    def attention_off(self) -> None:
        self._attention_for = None

    def forget_attention(self, play_id: str) -> None:
        """The airing is over (finished or cancelled): a new one opens with the signal again."""
        self._announced.discard(play_id)

    def off_air(self) -> None:
        self._current = self._tone_on_air = self._live_on_air = None

    # --- the next decision ------------------------------------------------------------------
    def next(self, now: float, hold: Hold | None = None) -> Decision:
        """What to do at ``now``. A Play, Resume or PlayTone is taken off the agenda and is on
        air until ``off_air``; an Expired alert is dropped (ask again after reporting it).
        ``hold`` (the node's clock cannot be trusted) keeps every item due at a set time by
        either clock waiting, marked with why: by a wrong clock it would air at the wrong
        moment. What plays "now" (a resume) needs no clock and goes on, and so does an
        emergency, even one set for a time."""
        for play_id, until in list(self._alerts.items()):
            if until < now:
                del self._alerts[play_id]
                return Expired(play_id)
            if play_id not in self._announced:
                return Announce(play_id)
        due = [e for e in self._queue.values() if e.start - self.preroll_s <= now]
        held: set[str] = set()
        if hold is not None:
            by_either = max(now, now - hold.offset_s) + self.preroll_s
            # an emergency is never held: aired minutes off beats silent through a flood
            timed = (
                e
                for e in self._queue.values()
                if e.start and not e.cut_reason and e.rank < EMERGENCY
            )
            held = {e.play_id for e in timed if e.start <= by_either}
            due = [e for e in due if e.play_id not in held]
            for play_id in held:
                self._queue[play_id] = replace(self._queue[play_id], held=hold.reason)
        if self._alerts:  # hold everything lower while an announced emergency's audio loads
            due = [e for e in due if e.rank >= EMERGENCY]
        if (
            self._live is not None
            and not self._alerts
            and not any(e.rank >= EMERGENCY for e in due)
        ):
            live, self._live, self._live_on_air = self._live, None, self._live
            return GoLive(live)
        if due:
            entry = max(due, key=lambda e: (e.rank, -e.start))
            del self._queue[entry.play_id]
            self._current = entry
            return Resume(entry) if entry.cut_reason else Play(entry)
        if self._tone is not None and not self._alerts:
            tone, self._tone, self._tone_on_air = self._tone, None, self._tone
            return PlayTone(tone)
        future = [e.start - self.preroll_s for p, e in self._queue.items() if p not in held]
        future += [now + HOLD_RECHECK_S] if held else []
        return Wait(min(future)) if future else Idle()

    def _begun(self) -> list[str]:
        """Airings that have sounded and would sound again without a new command."""
        queued = [p for p, e in self._queue.items() if e.cut_reason or p in self._announced]
        announced = [p for p in self._alerts if p in self._announced and p not in queued]
        return queued + announced
