"""Mains hum and a steady machine's drone: find a fundamental and its harmonics; cancel them.

Shape convention: float32 mono ``(n,)`` in, float32 mono ``(n,)`` of the same length out.

Detection (:func:`detect`) reads the long-term spectrum (Welch, 0.25 Hz bins) of up to a minute
of the recording: a harmonic of the mains counts when its line stands ``_LINE_DB`` above the
median of the 40 Hz around it; hum is declared when ``_MIN_LINES`` harmonics count and their
frequencies, divided by their harmonic numbers, agree on one fundamental. Speech, whose
pitch moves, leaves no such lines; an engine or a fan has lines, but not on a 50/60 Hz comb.

A machine that runs at one speed (a water pump, a rice mill, a generator, a compressor) hums
the same way on a fundamental of its own: :func:`detect_machine` looks for a comb on the
strongest lines of the pauses (each taken as the first to fourth harmonic of a fundamental of
30-400 Hz, and the spacing of each two), and declares it with three lines or more.

Cancellation (:func:`cancel`) is an adaptive notch comb: the adaptive noise canceller with a
sinusoidal reference (Widrow et al. 1975, sec. VI), run offline. The fundamental is tracked from
the phase of the strongest harmonic block by block (mains drift by tenths of a hertz), and each
hum harmonic's complex amplitude is measured over Hann blocks of ``2 * _HOP_S`` against that
reference, then resynthesised (the Hann blocks overlap to one) and subtracted. Each notch is
about 1 / (2 * _HOP_S) = 2.5 Hz wide, so speech loses almost nothing; a tone that is not on the
detected comb is untouched. A voice's harmonic that passes through a notch adds to the
measured amplitude; hum is steady, so a block measured well over the harmonic's median is
replaced by the hum's amplitude around it (:func:`_steady`) rather than subtracted whole, and
each mains line's amplitude is a running median over 1.8 s of blocks: the hum keeps its phase
against the reference, a voice's harmonic does not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from audio import running
from audio.mono_input import check_mono_float32
from audio.samples import FloatArray
from audio.welch import welch

__all__ = ["Hum", "cancel", "detect", "detect_machine"]

MAINS_HZ = (50.0, 60.0)
_LINE_DB = 9.0  # a line's mean power over that of the 20 Hz either side (speech: at most 7)
_MIN_LINES = 2
_QUIET_LINE_DB = 12.0  # the same line in the pauses
_PAUSE_DB = 6.0
_ROWS = 32  # half seconds converted to float64 at once (3 MB at 48 kHz)
_LOWEST_HARMONIC = 4  # one of the lines held through the pauses is at most this
_DETECT_HZ = 1000.0  # hum is declared on the lines below; the comb above is cancelled too
_WEAK_LINE_DB = 4.0  # further lines on a comb already found, in the pauses
_MAX_HARMONIC_HZ = 4000.0
_LINE_HZ = 1.0  # a line's power is compared with the background's in this bandwidth
_REACH_HZ = 0.5  # search window per harmonic number, for drift
_DRIFT_HZ = 1.0  # how far the fundamental may lie from the nominal mains frequency
_AGREE_HZ = 0.1  # harmonics' fundamentals (f_k / k) agree within this
_SPAN_S = 60.0  # the detector reads at most this much of the recording
_HOP_S = 0.2
_STEADY_FACTOR = 2.0  # a block over this times the median amplitude holds more than hum
# Blocks (of _HOP_S) over which each line's complex amplitude is taken as a running median: hum
# keeps its phase against the tracked reference, a voice's harmonic crossing the notch does not.
# 9 (1.8 s): see _steady.
_SMOOTH_BLOCKS = 9
_SEGMENT_HOPS = 256  # hops processed at once, so memory stays flat on long recordings
# A machine's fundamental (a pump's or a mill's motor, a generator, a compressor) lies here; its
# comb is looked for on the strongest lines of the pauses below _CANDIDATE_HZ, and needs one
# line more than the mains' (whose fundamental is known in advance).
_MACHINE_HZ = (30.0, 400.0)
_CANDIDATE_HZ = 1200.0
_CANDIDATE_LINES = 8
_MACHINE_MIN_LINES = 3
_SUBHARMONIC_SHARE = 0.75
_MACHINE_LINE_DB = 4.0

Complex = npt.NDArray[np.complex128]
Real = npt.NDArray[np.float64]


class _Spectra(NamedTuple):
    """The long-term spectrum (Welch, fine bins) and the pauses' (2 Hz bins)."""

    f: Real
    p: Real
    fq: Real
    pq: Real


@dataclass(frozen=True)
class Hum:
    """Mains hum, or a steady machine's drone, found in a recording."""

    mains_hz: float  # nominal: 50 or 60; a machine's: the fundamental first taken from a line
    f0_hz: float  # measured mean fundamental
    harmonics: tuple[int, ...]  # the harmonic numbers that stood out
    level_db: float  # the strongest line above its neighbourhood
    machine: bool = False  # a machine's drone, not the mains


def _welch(x: FloatArray, sr: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    span = int(_SPAN_S * sr)
    if x.shape[0] > span:  # the middle minute: hum lasts the whole recording
        start = (x.shape[0] - span) // 2
        x = x[start : start + span]
    n = min(x.shape[0], 4 * sr)
    return welch(x, sr, nperseg=n)


def _line(
    f: npt.NDArray[np.float64], p: npt.NDArray[np.float64], centre: float, reach: float
) -> tuple[float, float]:
    """``(frequency, dB)`` of the line within ``reach`` of ``centre``: its power-weighted mean
    frequency, and its power (summed over the reach, since a drifting line is smeared over
    several bins, less the background there) over the median bin of the 20 Hz either side."""
    # f is sorted: the bins within reach are one slice, their neighbours two
    lo = int(np.searchsorted(f, centre - reach, side="left"))
    hi = int(np.searchsorted(f, centre + reach, side="right"))
    n_lo, n_hi = (
        np.searchsorted(f, centre - reach - 20.0),
        np.searchsorted(f, centre + reach + 20.0, side="right"),
    )
    near_p = np.concatenate((p[n_lo:lo], p[hi:n_hi]))
    if hi <= lo or near_p.shape[0] == 0:
        return centre, 0.0
    power = p[lo:hi]
    freq = float(np.sum(f[lo:hi] * power) / max(float(np.sum(power)), 1e-30))
    floor = max(float(np.mean(near_p)), 1e-30)
    excess = float(np.sum(power)) - floor * power.shape[0]
    line_bins = max(1.0, _LINE_HZ / (f[1] - f[0]))
    return freq, float(10.0 * np.log10(max(excess, 1e-30) / (floor * line_bins)))


def _quiet_spectrum(
    x: FloatArray, sr: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean periodogram (2 Hz bins) of the recording's quietest half seconds (within
    ``_PAUSE_DB`` of the quietest, at least two): the pauses, where the talker's own harmonics
    are absent and hum goes on."""
    n = sr // 2
    halves = x[: x.shape[0] // n * n].reshape(-1, n)  # a view of the recording
    # In float64 a few rows at a time: each row's sum is the one a float64 copy of the whole
    # recording gave, without that copy (twice the recording: 23 MB for 3 minutes at 16 kHz,
    # at the top of an upload's memory).
    energy = np.empty(halves.shape[0], dtype=np.float64)
    for lo in range(0, halves.shape[0], _ROWS):
        rows = halves[lo : lo + _ROWS].astype(np.float64)
        energy[lo : lo + _ROWS] = np.einsum("ij,ij->i", rows, rows)
    order = np.argsort(energy)
    pauses = int(np.count_nonzero(energy <= energy[order[0]] * 10.0 ** (_PAUSE_DB / 10.0)))
    quiet = order[: max(2, pauses)]
    # The periodograms a few at a time too (a noise-like recording is all pauses: 70 MB for 3
    # minutes at once), summed row after row in order, as ``mean(axis=0)`` sums them.
    window = np.hanning(n)
    total = np.zeros(n // 2 + 1, dtype=np.float64)
    for lo in range(0, quiet.shape[0], _ROWS):
        spec = np.abs(np.fft.rfft(halves[quiet[lo : lo + _ROWS]] * window, axis=1)) ** 2
        for row in spec:
            total += row
    freqs = np.asarray(np.fft.rfftfreq(n, 1.0 / sr), dtype=np.float64)
    mean: npt.NDArray[np.float64] = total / quiet.shape[0]
    return freqs, mean


def detect(x: np.ndarray, sr: int) -> Hum | None:
    """Mains hum in ``x`` (float32 mono ``(n,)``), or ``None`` when there is none.

    Needs at least one second; shorter recordings are never said to hum.
    """
    spectra = _spectra(x, sr)
    if spectra is None:
        return None
    best: Hum | None = None
    for mains in MAINS_HZ:
        found = _comb(spectra, mains, sr, min_lines=_MIN_LINES)
        if found is not None and (best is None or len(found.harmonics) > len(best.harmonics)):
            best = found
    return best


def detect_machine(x: np.ndarray, sr: int) -> Hum | None:
    """A steady machine's drone in ``x`` (float32 mono ``(n,)``) on a fundamental of its own
    (``machine`` set, every harmonic that stands out listed), or ``None``. Needs a second."""
    spectra = _spectra(x, sr)
    if spectra is None:
        return None
    combs = [
        found
        for f0 in _machine_fundamentals(spectra)
        if (found := _comb(spectra, f0, sr, min_lines=_MACHINE_MIN_LINES)) is not None
        and not _subharmonic(found)
    ]
    # A comb on twice the fundamental holds every other line of the machine's own: the lowest
    # comb that is no subharmonic is the machine's.
    found = min(combs, key=lambda c: c.f0_hz, default=None)
    if found is None:
        return None
    lines = _machine_lines(spectra, found.f0_hz, sr)
    return dataclasses.replace(found, harmonics=lines, machine=True)


def _spectra(x: np.ndarray, sr: int) -> _Spectra | None:
    check_mono_float32(x, sr)
    if x.shape[0] < sr:
        return None
    return _Spectra(*_welch(x, sr), *_quiet_spectrum(x, sr))


def _subharmonic(comb: Hum) -> bool:
    """Whether a comb's lines up to ``_CANDIDATE_HZ`` are mostly every second, third or fourth
    harmonic of it: then it stands on a fraction of the machine's fundamental (which is a
    candidate of its own). Higher up, lines of the voice or the noise fall on any fine comb."""
    k = np.asarray([h for h in comb.harmonics if h * comb.f0_hz <= _CANDIDATE_HZ])
    return k.shape[0] == 0 or any(
        np.mean(k % d == 0) >= _SUBHARMONIC_SHARE for d in range(2, _LOWEST_HARMONIC + 1)
    )


def _comb(s: _Spectra, nominal: float, sr: int, *, min_lines: int) -> Hum | None:
    """The comb on ``nominal`` Hz in the spectra ``s``, if at least ``min_lines`` of its lines
    stand out and agree on one fundamental."""
    lines = [(k, *_harmonic(s, nominal, k)) for k in _harmonic_numbers(nominal, sr)]
    # Lines on the comb in the whole recording that go on through its pauses: a steady
    # voice's harmonics (espeak's pitch holds for a while) stop when it does.
    held = [
        (k, fk) for k, fk, level, quiet in lines if level >= _WEAK_LINE_DB and quiet >= _LINE_DB
    ]
    # Hum is strongest in its first few harmonics (the high-pass may have taken the
    # fundamental): a comb of only higher lines is a voice's, not the mains'.
    if len(held) < min_lines or min(k for k, _ in held) > _LOWEST_HARMONIC:
        return None
    f0 = float(np.median([fk / k for k, fk in held]))
    agree = [
        (k, level)
        for k, fk, level, quiet in lines
        if level >= _LINE_DB and quiet >= _WEAK_LINE_DB and abs(fk / k - f0) <= _AGREE_HZ + 0.5 / k
    ]
    if len(agree) < min_lines:
        return None
    return Hum(nominal, round(f0, 3), tuple(k for k, _ in agree), max(lv for _, lv in agree))


def _harmonic_numbers(f0: float, sr: int) -> range:
    """Harmonics of ``f0`` up to ``_MAX_HARMONIC_HZ`` (and below Nyquist)."""
    return range(1, int(min(_MAX_HARMONIC_HZ, sr / 2 - 25.0) // f0) + 1)


def _harmonic(s: _Spectra, f0: float, k: int) -> tuple[float, float, float]:
    """Harmonic ``k`` of ``f0``: its frequency and level in the long-term spectrum, and its
    level in the pauses (each searched within the drift a ``k``-th harmonic may show)."""
    fk, level = _line(s.f, s.p, k * f0, min(0.5 + k * _REACH_HZ, 4.0))
    quiet = _line(s.fq, s.pq, k * f0, min(1.0 + k * _REACH_HZ, 4.0))[1]
    return fk, level, quiet


def _machine_fundamentals(s: _Spectra) -> list[float]:
    """Fundamentals a machine's comb may stand on, from the strongest lines of the pauses
    (local maxima standing ``_LINE_DB`` over their neighbourhood, up to ``_CANDIDATE_HZ``, each
    placed on the long-term spectrum's finer bins): each line taken as harmonic 1 to
    ``_LOWEST_HARMONIC``, and the spacing of each two (a motor's strongest lines may all be
    high harmonics), within ``_MACHINE_HZ``."""
    f, p, fq, pq = s
    i = np.flatnonzero(
        (fq[1:-1] >= _MACHINE_HZ[0])
        & (fq[1:-1] <= _CANDIDATE_HZ)
        & (pq[1:-1] >= pq[:-2])
        & (pq[1:-1] >= pq[2:])
    )
    peaks = [
        (level, fq[j + 1]) for j in i if (level := _line(fq, pq, fq[j + 1], 1.0)[1]) >= _LINE_DB
    ]
    lines = [_line(f, p, c, 2.0)[0] for _, c in sorted(peaks, reverse=True)[:_CANDIDATE_LINES]]
    guesses = [line / k for line in lines for k in range(1, _LOWEST_HARMONIC + 1)]
    guesses += [abs(a - b) for j, a in enumerate(lines) for b in lines[j + 1 :]]
    out: list[float] = []
    for f0 in guesses:
        if _MACHINE_HZ[0] <= f0 <= _MACHINE_HZ[1] and all(abs(f0 - g) > 1.0 for g in out):
            out.append(f0)
    return out


def _machine_lines(s: _Spectra, f0: float, sr: int) -> tuple[int, ...]:
    """The harmonics of a machine's fundamental ``f0`` to cancel: every one up to the highest
    that stands out (in the whole recording, or less in its pauses) below ``_CANDIDATE_HZ``,
    and those above that stand out too. A motor's low harmonics come as a series; one missed
    (under a voice's line, or the pauses' spectrum's scatter) kept the pauses periodic, and the
    background still read as a voice."""
    out = [
        k
        for k in _harmonic_numbers(f0, sr)
        if (levels := _harmonic(s, f0, k))[1] >= _LINE_DB or levels[2] >= _MACHINE_LINE_DB
    ]
    series = max((k for k in out if k * f0 <= _CANDIDATE_HZ), default=0)
    return tuple(sorted(set(range(1, series + 1)) | set(out)))


def _blocks(n: int, hop: int) -> int:
    return -(-n // hop) + 1  # block b covers samples [(b - 1) hop, (b + 1) hop)


def _phase_at_hops(f0_hops: npt.NDArray[np.float64], hop: int, sr: int) -> npt.NDArray[np.float64]:
    """Reference phase (radians, mod 2 pi) at the start of each hop of the padded signal."""
    steps = 2.0 * np.pi * f0_hops * hop / sr
    out: npt.NDArray[np.float64] = np.concatenate(([0.0], np.cumsum(steps)[:-1])) % (2 * np.pi)
    return out


def _reference(
    start: int,
    stop: int,
    *,
    phase0: npt.NDArray[np.float64],
    f0_hops: npt.NDArray[np.float64],
    hop: int,
    sr: int,
) -> Complex:
    """``exp(-j phi)`` over padded hops ``[start, stop)``, shape ``(stop - start, hop)``."""
    i = np.arange(hop)
    phi = phase0[start:stop, None] + 2.0 * np.pi * f0_hops[start:stop, None] * i[None, :] / sr
    ref: Complex = np.exp(-1j * phi)
    return ref


def _amplitudes(
    xp: FloatArray, harmonics: list[int], f0_hops: npt.NDArray[np.float64], hop: int, sr: int
) -> Complex:
    """Complex amplitude of each harmonic in each Hann block, shape ``(blocks, harmonics)``."""
    n_hops = xp.shape[0] // hop
    phase0 = _phase_at_hops(f0_hops, hop, sr)
    w = np.hanning(2 * hop + 1)[:-1].reshape(2, hop)  # periodic Hann; halves overlap to one
    out = np.zeros((n_hops - 1, len(harmonics)), dtype=np.complex128)
    for s in range(0, n_hops - 1, _SEGMENT_HOPS):
        e = min(s + _SEGMENT_HOPS, n_hops - 1)
        ref = _reference(s, e + 1, phase0=phase0, f0_hops=f0_hops, hop=hop, sr=sr)
        seg = xp[s * hop : (e + 1) * hop].reshape(-1, hop).astype(np.float64)
        first, second = seg[:-1] * w[0], seg[1:] * w[1]
        ref_k = np.ones_like(ref)
        k_prev = 0
        for j, k in enumerate(harmonics):
            ref_k *= ref ** (k - k_prev)
            k_prev = k
            acc = np.einsum("bh,bh->b", first, ref_k[:-1]) + np.einsum(
                "bh,bh->b", second, ref_k[1:]
            )
            out[s:e, j] = acc * (2.0 / hop)  # sum of the Hann block is hop
    return out


def _track(x_pad: FloatArray, hum: Hum, hop: int, sr: int) -> npt.NDArray[np.float64]:
    """Fundamental per hop: the nominal f0 corrected by the phase advance, block to block, of
    the strongest harmonic measured against a fixed-frequency reference."""
    n_hops = x_pad.shape[0] // hop
    f0 = np.full(n_hops, hum.f0_hz)
    k = hum.harmonics[0] if len(hum.harmonics) == 1 else min(hum.harmonics[:3])
    a = _amplitudes(x_pad, [k], f0, hop, sr)[:, 0]
    if a.shape[0] < 3:
        return f0
    turn = np.angle(a[1:] * np.conj(a[:-1]))  # radians per hop at harmonic k
    offset = turn * sr / (2.0 * np.pi * hop * k)
    offset = running.median_filter(offset, 5)
    np.clip(offset, -_DRIFT_HZ, _DRIFT_HZ, out=offset)
    # Block b + 1 is centred on hop b + 1: the offset between blocks b and b + 1 is hop b + 1's.
    f0[1 : offset.shape[0] + 1] += offset
    f0[offset.shape[0] + 1 :] += offset[-1]
    f0[0] += offset[0]
    return f0


def _steady(amp: Complex, *, by_phase: bool = True) -> Complex:
    """Each harmonic's complex amplitudes (blocks x harmonics) with the blocks where something
    else adds to the line replaced by the hum's own, interpolated from the blocks around them.

    Hum is steady: against the tracked reference its amplitude barely moves. A block whose
    amplitude stands more than ``_STEADY_FACTOR`` times over the harmonic's median holds a
    voice's harmonic passing through the notch too; subtracting that measured amplitude would
    take the voice's harmonic with the hum (measured on the wider benchmark at 20 dB SNR:
    STOI 0.008 below the untouched input, none after this).

    A voice's harmonic level with the hum's, or a phone's AGC lifting the hum in the pauses,
    passes that test, and the block's whole measured amplitude (hum plus voice) was subtracted.
    Hum is steady in phase too: against the tracked reference its complex amplitude stays put,
    while a voice's harmonic crossing the notch comes with a phase of its own from block to
    block. So each line's amplitude is the running median, real and imaginary parts apart, over
    ``_SMOOTH_BLOCKS`` blocks: the hum's stays, the voice's scatters around zero and drops out
    (BENCHMARKS, round eleven: tune hum 20 dB under the AGC from STOI -0.0026 / -0.0028 below
    the input to above it, and 0.19-0.34 PESQ-WB more on hum at 0-10 dB). Not with
    ``by_phase`` false (a machine's comb): that comb is cancelled only where it stands out of
    the pauses enough to read as a voice, so each block's measurement is the machine's, and it
    follows the machine's level as an AGC moves it; the median over 1.8 s did not, left enough
    of the comb for the background to read as a voice still, and the recording was left whole
    (tune machine 5 dB: +0.44 PESQ-WB over the input to none)."""
    out = amp.copy()
    blocks = np.arange(amp.shape[0])
    for j in range(amp.shape[1]):
        mag = np.abs(amp[:, j])
        bad = mag > _STEADY_FACTOR * np.median(mag)
        if bad.any() and not bad.all():
            good = ~bad
            out[bad, j] = np.interp(blocks[bad], blocks[good], amp[good, j].real) + 1j * np.interp(
                blocks[bad], blocks[good], amp[good, j].imag
            )
        if by_phase and out.shape[0] > 2:
            out[:, j] = running.median_filter(
                out[:, j].real, _SMOOTH_BLOCKS
            ) + 1j * running.median_filter(out[:, j].imag, _SMOOTH_BLOCKS)
    return out


def cancel(x: np.ndarray, sr: int, hum: Hum) -> np.ndarray:
    """``x`` with the harmonics of ``hum`` subtracted (float32 mono ``(n,)``, same length)."""
    check_mono_float32(x, sr)
    hop = max(1, round(_HOP_S * sr))
    n = x.shape[0]
    blocks = _blocks(n, hop)
    xp = np.zeros((blocks + 1) * hop, dtype=np.float32)  # a hop of zeros before and after
    xp[hop : hop + n] = x
    f0 = _track(xp, hum, hop, sr)
    harmonics = [k for k in hum.harmonics if k * hum.f0_hz < sr / 2 - 25.0]
    amp = _steady(_amplitudes(xp, harmonics, f0, hop, sr), by_phase=not hum.machine)
    phase0 = _phase_at_hops(f0, hop, sr)
    w = np.hanning(2 * hop + 1)[:-1].reshape(2, hop)
    y = xp.astype(np.float64)
    n_hops = xp.shape[0] // hop
    for s in range(0, n_hops - 1, _SEGMENT_HOPS):
        e = min(s + _SEGMENT_HOPS, n_hops - 1)
        ref = np.conj(
            _reference(s, e + 1, phase0=phase0, f0_hops=f0, hop=hop, sr=sr)
        )  # exp(+j phi)
        humseg = np.zeros((e - s + 1, hop))
        ref_k = np.ones_like(ref)
        k_prev = 0
        for j, k in enumerate(harmonics):
            ref_k *= ref ** (k - k_prev)
            k_prev = k
            a = amp[s:e, j][:, None]
            humseg[:-1] += w[0] * np.real(a * ref_k[:-1])
            humseg[1:] += w[1] * np.real(a * ref_k[1:])
        y[s * hop : (e + 1) * hop] -= humseg.reshape(-1)
    out: FloatArray = y[hop : hop + n].astype(np.float32)
    return out
