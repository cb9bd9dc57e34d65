"""The wider corpus's real-life noises (16 kHz, seeded, unit RMS before mixing), beyond the
original five of :mod:`bench.corpus`:

* ``tv``        a TV or radio in the room: another talker reading the news (espeak-ng, another
  voice and rate) through a small loudspeaker (band-passed 150 Hz - 6 kHz) with a bed of music,
  heard at a distance (reverberation: exponentially decaying noise, RT60 about 0.5 s);
* ``music``     music from a radio in the room: chords and a melody of harmonic notes with
  vibrato and a beat, reverberated the same way;
* ``market``    market chatter: twenty distant talkers at once, with clatter (short clicks);
* ``motorbike`` passing motorbikes: an engine whose pitch and level follow a pass-by (Doppler
  factor ``c / (c - v cos theta)``, level by distance), one a horn beep;
* ``rain``      rain on a tin roof: dense random drop impulses ringing the sheet's resonances
  (2-6 kHz) over a low rumble;
* ``wind``      wind buffeting the microphone: low-passed (under 200 Hz) noise in gusts of
  0.2-1 s, clipped as a phone's microphone overloads;
* ``hum``       50 Hz mains hum (drifting by tenths of a hertz) with odd and even harmonics and
  a little buzz, from a cheap amplifier;
* ``animals``   a dog's barks and a rooster's crow: short loud harmonic calls with pitch glides
  over a quiet yard.

Added after the denoiser was tuned on the ones above (round eight), noises that come and go or
hold a pitch, to test it where it was not tuned:

* ``siren``     a wailing siren: a harmonic tone sweeping 600-1300 Hz and back every 3-5 s;
* ``birds``     birdsong: short chirps sweeping within 2-7 kHz over a quiet yard;
* ``tools``     a power tool switched on and off: a motor's buzz (band-passed 800 Hz - 5 kHz)
  for 1-3 s, then 0.5-2 s of a quiet workshop;
* ``typing``    typing in an office: short clicks over room tone;
* ``machine``   a water pump or a rice mill: a motor's harmonics (fundamental 40-120 Hz) over
  its broadband rumble, steady;
* ``applause``  a meeting hall clapping: bursts of 1.5-4 s of dense claps, then 1-3 s of the
  hall;
* ``traffic``   a road: low rumble swelling and fading as lorries pass.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.signal

from bench.corpus import SR, VOICES, speak

F64 = npt.NDArray[np.float64]

TV_SENTENCES = [
    "Bản tin thời sự hôm nay: giá lúa gạo tăng nhẹ tại các tỉnh đồng bằng sông Cửu Long.",
    "Dự báo thời tiết, ngày mai trời nhiều mây, có mưa rào và dông vài nơi.",
    "Đội tuyển bóng đá quốc gia đã giành chiến thắng trong trận đấu tối qua.",
    "Chương trình ca nhạc đặc biệt sẽ được phát sóng vào tối thứ bảy tuần này.",
]


@lru_cache(maxsize=64)
def _spoken(text: str, voice: str, rate: int) -> F64:
    """espeak-ng speech at unit RMS (cached: the TV and the market reuse their talkers)."""
    s = speak(text, voice, speed=rate).astype(np.float64)
    out: F64 = s / np.sqrt(np.mean(s**2))
    return out


def warm() -> None:
    """Synthesise every background talker once (before the benchmark forks its workers)."""
    _tv(SR, np.random.default_rng(0))
    _market(SR, np.random.default_rng(0))


def _band(x: F64, lo: float, hi: float, order: int = 2) -> F64:
    sos = scipy.signal.butter(order, [lo, hi], "band", fs=SR, output="sos")
    y: F64 = scipy.signal.sosfilt(sos, x)
    return y


def _low(x: F64, hz: float, order: int = 2) -> F64:
    sos = scipy.signal.butter(order, hz, "low", fs=SR, output="sos")
    y: F64 = scipy.signal.sosfilt(sos, x)
    return y


def room(x: F64, rng: np.random.Generator, rt60: float = 0.5, direct: float = 0.3) -> F64:
    """``x`` heard across a room: a direct path and exponentially decaying diffuse tail."""
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail = _low(tail, 5000.0)
    tail /= np.sqrt(np.sum(tail**2))
    tail[0] += direct
    y: F64 = scipy.signal.fftconvolve(x, tail)[: x.shape[0]]
    return y


def _loop(parts: list[F64], n: int, rng: np.random.Generator) -> F64:
    s = np.concatenate(parts)
    reps = np.tile(s, n // s.shape[0] + 2)
    start = int(rng.integers(0, s.shape[0]))
    out: F64 = reps[start : start + n]
    return out


def _notes(n: int, rng: np.random.Generator, notes: int, length_s: tuple[float, float]) -> F64:
    """Harmonic notes with vibrato, one after another, as a melody line."""
    out = np.zeros(n)
    t0 = 0
    while t0 < n:
        m = int(rng.uniform(*length_s) * SR)
        f = 110.0 * 2.0 ** (rng.integers(0, 24) / 12.0)
        t = np.arange(m) / SR
        phase = 2 * np.pi * np.cumsum(f * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * t))) / SR
        note = sum(np.sin(k * phase) / k**1.2 for k in range(1, notes + 1))
        env = np.minimum(1.0, t / 0.02) * np.exp(-t / (0.6 * m / SR))
        stop = min(n, t0 + m)
        out[t0:stop] += (note * env)[: stop - t0]
        t0 += m
    return out


def _music(n: int, rng: np.random.Generator) -> F64:
    melody = _notes(n, rng, 8, (0.2, 0.5))
    chords = sum(_notes(n, rng, 5, (1.0, 2.0)) for _ in range(3))
    beat = np.zeros(n)
    beat[:: int(0.5 * SR)] = 1.0
    kick = np.exp(-np.arange(int(0.08 * SR)) / (0.015 * SR)) * np.sin(
        2 * np.pi * 60 * np.arange(int(0.08 * SR)) / SR
    )
    drums = scipy.signal.fftconvolve(beat, kick)[:n]
    return room(melody + 0.5 * chords + 2.0 * drums, rng)


def _tv(n: int, rng: np.random.Generator) -> F64:
    parts = []
    for i, text in enumerate(TV_SENTENCES):
        voice = VOICES[(i + 1) % 3] + ("+f4" if i % 2 else "+m1")
        parts += [_spoken(text, voice, 170), np.zeros(int(0.25 * SR))]
    speech = _band(_loop(parts, n, rng), 150.0, 6000.0)
    bed = _music(n, rng)
    bed *= 0.2 * np.sqrt(np.mean(speech**2) / np.mean(bed**2))
    return room(speech, rng) + bed


def _market(n: int, rng: np.random.Generator) -> F64:
    from bench.corpus import BABBLE_SENTENCES

    out = np.zeros(n)
    for i in range(20):
        text = (BABBLE_SENTENCES + TV_SENTENCES)[i % 12]
        voice = VOICES[i % 3] + ("+f1", "+m2", "+f5", "+m4")[i % 4]
        s = _spoken(text, voice, 150 + 7 * (i % 5))
        out += _loop([s, np.zeros(int(0.5 * SR))], n, rng)
    clatter = np.zeros(n)
    hits = rng.integers(0, n, size=max(1, n // SR * 3))
    clatter[hits] = rng.uniform(2, 6, size=hits.shape[0])
    ring = np.exp(-np.arange(400) / 60.0) * np.sin(2 * np.pi * 2500 * np.arange(400) / SR)
    clicks: F64 = scipy.signal.fftconvolve(clatter, ring)[:n]
    return room(out, rng, rt60=0.3, direct=0.5) + clicks


def _passby(n: int, rng: np.random.Generator, horn: bool) -> F64:
    """One motorbike passing 5 m from the microphone at 10-15 m/s."""
    t = np.arange(n) / SR
    v = rng.uniform(10.0, 15.0)
    t_pass = rng.uniform(0.3, 0.7) * n / SR
    x_pos = v * (t - t_pass)
    dist = np.hypot(x_pos, 5.0)
    cos_theta = -x_pos / dist  # approaching: positive
    doppler = 343.0 / (343.0 - v * cos_theta)
    f0 = rng.uniform(35.0, 50.0) * doppler
    phase = 2 * np.pi * np.cumsum(f0) / SR
    engine = sum(np.sin(k * phase) / k**0.7 for k in range(1, 40))
    engine = engine * (1 + 0.5 * np.maximum(np.sin(phase / 2), 0) ** 4)
    engine += 2.0 * _low(rng.standard_normal(n), 1500.0)
    out: F64 = np.asarray(engine * (5.0 / dist), dtype=np.float64)
    if horn:
        on = (t > t_pass - 0.6) & (t < t_pass - 0.2)
        hp = 2 * np.pi * np.cumsum(420.0 * doppler) / SR
        out += 3.0 * on * np.sign(np.sin(hp)) * (5.0 / dist)
    return out


def _motorbike(n: int, rng: np.random.Generator) -> F64:
    out = _passby(n, rng, horn=True) + 0.7 * _passby(n, rng, horn=False)
    return out + 0.05 * np.std(out) * rng.standard_normal(n)


def _rain(n: int, rng: np.random.Generator) -> F64:
    drops = np.zeros(n)
    hits = rng.integers(0, n, size=n // SR * 400)
    drops[hits] = rng.exponential(1.0, size=hits.shape[0])
    sheet = np.zeros(int(0.03 * SR))
    t = np.arange(sheet.shape[0]) / SR
    for f in (2100.0, 3300.0, 4700.0, 5900.0):
        sheet += np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) * np.exp(-t / 0.006)
    tin = scipy.signal.fftconvolve(drops, sheet)[:n]
    rumble = _low(rng.standard_normal(n), 400.0)
    out: F64 = tin + 0.5 * np.std(tin) * rumble / np.std(rumble)
    return out


def _wind(n: int, rng: np.random.Generator) -> F64:
    gusts = np.zeros(n)
    t0 = int(rng.uniform(0.1, 0.5) * SR)
    while t0 < n:
        m = int(rng.uniform(0.2, 1.0) * SR)
        stop = min(n, t0 + m)
        gusts[t0:stop] = np.hanning(m)[: stop - t0] * rng.uniform(0.5, 1.0)
        t0 += m + int(rng.uniform(0.2, 1.2) * SR)
    rumble = _low(rng.standard_normal(n), 200.0, order=4) * (0.1 + gusts)
    rumble /= np.max(np.abs(rumble))
    return np.tanh(3.0 * rumble)  # the microphone overloads


def _hum(n: int, rng: np.random.Generator) -> F64:
    t = np.arange(n) / SR
    f0 = 50.0 + 0.15 * np.sin(2 * np.pi * t / rng.uniform(8.0, 20.0)) + rng.uniform(-0.2, 0.2)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    amps = {1: 1.0, 2: 0.6, 3: 0.8, 4: 0.2, 5: 0.4, 6: 0.1, 7: 0.25, 9: 0.15, 11: 0.1}
    x = sum(a * np.sin(k * phase + rng.uniform(0, 6.28)) for k, a in amps.items())
    buzz = _band(np.sign(np.sin(2 * phase)) * 0.05, 1000.0, 4000.0)
    return x + buzz + 0.01 * rng.standard_normal(n)


def _call(m: int, f_start: float, f_end: float, partials: int, rng: np.random.Generator) -> F64:
    t = np.arange(m) / SR
    f = np.geomspace(f_start, f_end, m)
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, partials + 1))
    x += 0.3 * rng.standard_normal(m)
    env = np.minimum(1.0, t / 0.01) * np.minimum(1.0, (t[-1] - t) / 0.03)
    out: F64 = np.asarray(x * env, dtype=np.float64)
    return out


def _animals(n: int, rng: np.random.Generator) -> F64:
    out = 0.02 * _low(rng.standard_normal(n), 2000.0)  # a quiet yard
    t0 = int(rng.uniform(0.2, 1.0) * SR)
    while t0 < n:
        if rng.random() < 0.7:  # a dog: two or three barks
            for _ in range(int(rng.integers(2, 4))):
                if t0 >= n:  # the recording ends before the last bark
                    break
                m = int(rng.uniform(0.08, 0.15) * SR)
                stop = min(n, t0 + m)
                out[t0:stop] += _call(m, 700.0, 450.0, 6, rng)[: stop - t0]
                t0 += m + int(0.15 * SR)
        else:  # a rooster's crow
            m = int(rng.uniform(0.8, 1.2) * SR)
            stop = min(n, t0 + m)
            out[t0:stop] += _call(m, 600.0, 900.0, 8, rng)[: stop - t0]
            t0 += m
        t0 += int(rng.uniform(0.8, 2.5) * SR)
    return out


def _bursts(
    n: int, rng: np.random.Generator, on_s: tuple[float, float], off_s: tuple[float, float]
) -> F64:
    """A gate (0 or 1, 10 ms ramps) on for ``on_s`` and off for ``off_s`` seconds in turn."""
    gate = np.zeros(n)
    t0 = int(rng.uniform(0.0, off_s[1]) * SR)
    while t0 < n:
        m = int(rng.uniform(*on_s) * SR)
        gate[t0 : t0 + m] = 1.0
        t0 += m + int(rng.uniform(*off_s) * SR)
    ramp = np.hanning(int(0.02 * SR))
    out: F64 = np.convolve(gate, ramp / ramp.sum(), "same")
    return out


def _siren(n: int, rng: np.random.Generator) -> F64:
    t = np.arange(n) / SR
    period = rng.uniform(3.0, 5.0)
    f = 600.0 + 700.0 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period + rng.uniform(0, 6.28)))
    phase = 2 * np.pi * np.cumsum(f) / SR
    out: F64 = sum(np.sin(k * phase) / k for k in (1, 2, 3)) + 0.01 * rng.standard_normal(n)
    return out


def _birds(n: int, rng: np.random.Generator) -> F64:
    out = 0.01 * rng.standard_normal(n)
    t0 = 0
    while True:
        t0 += int(rng.uniform(0.05, 0.6) * SR)
        m = int(rng.uniform(0.03, 0.15) * SR)
        if t0 + m >= n:
            return out
        f = np.linspace(rng.uniform(2500, 6000), rng.uniform(2000, 7000), m)
        out[t0 : t0 + m] += np.sin(2 * np.pi * np.cumsum(f) / SR) * np.hanning(m)


def _tools(n: int, rng: np.random.Generator) -> F64:
    t = np.arange(n) / SR
    motor = scipy.signal.sawtooth(2 * np.pi * rng.uniform(120, 240) * t)
    buzz = _band(motor + 0.5 * rng.standard_normal(n), 800.0, 5000.0)
    out: F64 = buzz * _bursts(n, rng, (1.0, 3.0), (0.5, 2.0)) + 0.02 * rng.standard_normal(n)
    return out


def _typing(n: int, rng: np.random.Generator) -> F64:
    out = 0.003 * rng.standard_normal(n)
    t0 = 0
    while True:
        t0 += int(rng.exponential(0.15) * SR) + 200
        if t0 + 400 >= n:
            return out
        out[t0 : t0 + 400] += rng.standard_normal(400) * np.exp(-np.arange(400) / 40)


def _machine(n: int, rng: np.random.Generator) -> F64:
    t = np.arange(n) / SR
    f0 = rng.uniform(40.0, 120.0)
    tones = sum(
        np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.28)) / k**0.7 for k in range(1, 12)
    )
    out: F64 = tones + 0.5 * _low(rng.standard_normal(n), 1500.0)
    return out


def _applause(n: int, rng: np.random.Generator) -> F64:
    claps = np.zeros(n)
    at = rng.integers(0, n, size=int(n / SR * 60))
    claps[at] = rng.standard_normal(at.shape[0])
    claps = _band(scipy.signal.lfilter([1.0], [1.0, -0.8], claps), 500.0, 6000.0)
    out: F64 = claps * _bursts(n, rng, (1.5, 4.0), (1.0, 3.0)) + 0.01 * rng.standard_normal(n)
    return out


def _traffic(n: int, rng: np.random.Generator) -> F64:
    t = np.arange(n) / SR
    swell = 1.0 + 0.8 * np.sin(2 * np.pi * t / rng.uniform(4.0, 8.0) + rng.uniform(0, 6.28))
    out: F64 = _low(rng.standard_normal(n), 400.0) * swell + 0.1 * rng.standard_normal(n)
    return out


GENERATORS: dict[str, Callable[[int, np.random.Generator], F64]] = {
    "tv": _tv,
    "music": _music,
    "market": _market,
    "motorbike": _motorbike,
    "rain": _rain,
    "wind": _wind,
    "hum": _hum,
    "animals": _animals,
    # round eight (not tuned on before it)
    "siren": _siren,
    "birds": _birds,
    "tools": _tools,
    "typing": _typing,
    "machine": _machine,
    "applause": _applause,
    "traffic": _traffic,
}
