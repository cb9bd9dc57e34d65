"""What the player opens and a sink plays, whole or in blocks, read back in pieces of any size.

The player hands a sink either one array (a test tone, the attention signal) or the blocks of a
bulletin as they are decoded (``audio.decode_stream``), so a 30-minute item never sits in memory
whole. :class:`BlockReader` checks each block as it comes, applies the gain and clips, and lets
the sink take exactly the pieces its clock asks for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Samples = NDArray[np.float32]
Audio = Samples | Iterable[Samples]  # a whole item, or its blocks in order


class Source(Protocol):
    """An item opened for playing from some frame on: iterating gives its blocks from there.

    ``frames`` is the whole item's length when known (a file's container declares it).
    """

    @property
    def sample_rate(self) -> int: ...

    @property
    def frames(self) -> int | None: ...

    def __iter__(self) -> Iterator[Samples]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ArraySource:
    """An item already in memory, played from frame ``start``."""

    samples: Samples
    sample_rate: int
    start: int = 0

    @property
    def frames(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Samples]:
        yield self.samples[self.start :]

    def close(self) -> None:
        pass


_LABEL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


def check_request(sample_rate: int, *, label: str, gain: float) -> None:
    """Check a play request's parameters; raises ValueError and plays nothing if bad."""
    if not _LABEL_RE.fullmatch(label):
        raise ValueError(
            f"label {label!r} must be 1-200 of A-Z a-z 0-9 . _ - and not start with '.'"
            " (it names files on simulated nodes)"
        )
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not (math.isfinite(gain) and gain >= 0):
        raise ValueError(f"gain must be finite and >= 0, got {gain!r}")


def check_samples(samples: NDArray[Any]) -> None:
    """Mono float samples, all finite; raises ValueError if not."""
    if not isinstance(samples, np.ndarray) or samples.ndim != 1:
        shape = getattr(samples, "shape", type(samples).__name__)
        raise ValueError(f"samples must be a mono numpy array of shape (n,), got {shape}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise ValueError(f"samples must be float in [-1, 1], got dtype {samples.dtype}")
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples contain NaN or infinity")


def apply_gain(samples: NDArray[Any], gain: float) -> Samples:
    # Clipping rather than refusing: a limiter's overshoot of a few ppm, or a gain above 1,
    # must not cost a bulletin its airing.
    out = samples.astype(np.float32) * np.float32(gain)
    return np.clip(out, -1.0, 1.0, out=out)


def prepare(samples: NDArray[Any], sample_rate: int, *, label: str, gain: float) -> Samples:
    """Check a whole play request and apply the gain; raises ValueError and plays nothing."""
    check_request(sample_rate, label=label, gain=gain)
    check_samples(samples)
    return apply_gain(samples, gain)


class BlockReader:
    """``audio`` checked, scaled by ``gain`` and clipped, read in pieces of any size.

    A whole array is checked at once, so a bad one plays nothing (as before any streaming);
    blocks are checked as they arrive. ``consumed`` counts the frames read so far.
    """

    def __init__(self, audio: Audio, gain: float = 1.0) -> None:
        if isinstance(audio, np.ndarray):
            check_samples(audio)
            whole = audio
            self._blocks: Iterator[NDArray[Any]] = iter([whole] if whole.size else [])
            self._check = False
        else:
            self._blocks = iter(audio)
            self._check = True
        self._gain = gain
        self._held: list[NDArray[Any]] = []
        self._held_frames = 0
        self._ended = False
        self.consumed = 0

    def _pull(self) -> bool:
        """One more block into the buffer; False at the end."""
        for block in self._blocks:
            if self._check:
                check_samples(block)
            if block.size:
                self._held.append(block)
                self._held_frames += block.size
                return True
        self._ended = True
        return False

    def read(self, n: int) -> Samples:
        """The next ``n`` frames (fewer only at the end; empty once all has been read)."""
        while self._held_frames < n and not self._ended:
            self._pull()
        if len(self._held) > 1:
            self._held = [np.concatenate(self._held)]
        whole = self._held[0] if self._held else np.zeros(0, np.float32)
        piece, rest = whole[:n], whole[n:]  # views: a whole item is never copied whole
        self._held = [rest] if rest.size else []
        self._held_frames -= piece.size
        self.consumed += piece.size
        # The gain on each piece as it goes: a copy of a piece, never of the item.
        return apply_gain(piece, self._gain)

    def pieces(self, n: int) -> Iterator[Samples]:
        """The rest, ``n`` frames at a time."""
        while (piece := self.read(n)).size:
            yield piece

    def empty(self) -> bool:
        """Nothing (left) to play."""
        return self._held_frames == 0 and not self._pull()

    def remaining(self, within: int) -> int | None:
        """The frames left when they are no more than ``within`` (None: more, or not known
        yet). Lets a sink wait out the exact end instead of a whole pacing step past it."""
        while self._held_frames <= within and not self._ended:
            self._pull()
        return self._held_frames if self._ended and self._held_frames <= within else None
