"""The live chain: what a voice goes through between the microphone and the Opus encoder.

A stream version of the bulletin chain's last steps, with state carried from block to block:

1. the rumble high-pass of :func:`audio.filters.highpass` (same Butterworth, 80 Hz);
2. a leveller (slow AGC) that moves the gain towards the bulletin loudness target, measuring
   speech with the BS.1770 K-weighting over 400 ms (the momentary loudness, §2.2 of EBU Tech
   3341), and holding the gain through pauses so it never pumps the room noise up;
3. a true-peak limiter with ``LOOKAHEAD_S`` of look-ahead: the gain falls smoothly *before*
   a peak over the ceiling (the peak measured between samples: audio.truepeak), and recovers
   at ``release_db_per_s``, so the encoder never gets a clipped sample.

Input is re-cut into fixed ``HOP`` blocks, so the output does not depend on how the caller
chunked the input. The output lags the input by ``latency`` samples (the look-ahead).

With ``denoise=True`` the blind denoiser runs first, block by block (audio.live_denoise): it
keeps the sample mapping (``latency`` is unchanged) but holds each input sample up to
``wait`` samples longer before it comes out, which the points' playout delay must absorb.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from audio import running
from audio.dynamics import LIMITER_RELEASE_DB_PER_S
from audio.filters import butter_highpass_sos, k_weighting_sos
from audio.iir import SosFilter
from audio.truepeak import true_peak_envelope

RATE: Final = 48000
HOP: Final = 480  # 10 ms
LOOKAHEAD_S: Final = 0.005
MOMENTARY_S: Final = 0.4
SILENCE_LUFS: Final = -45.0  # below this a block is a pause: the leveller holds its gain
MAX_BOOST_DB: Final = 24.0
MAX_CUT_DB: Final = -20.0
RISE_DB_PER_S: Final = 6.0  # slow up, so a breath or a pause never swells
FALL_DB_PER_S: Final = 20.0  # quicker down: a shout is brought back within a second
_HISTORY = 16  # samples before the block that the true-peak interpolation looks at


def _lufs(mean_square: float) -> float:
    return -0.691 + 10 * math.log10(mean_square) if mean_square > 0 else -math.inf


class LiveChain:
    def __init__(
        self,
        *,
        target_lufs: float = -16.0,
        true_peak_max_db: float = -1.0,
        highpass_hz: float = 80.0,
        release_db_per_s: float = LIMITER_RELEASE_DB_PER_S,
        denoise: bool = False,
    ) -> None:
        from audio.live_denoise import StreamingDenoiser

        self._denoiser = StreamingDenoiser() if denoise else None
        self.target_lufs = target_lufs
        self.ceiling = 10 ** (true_peak_max_db / 20)
        # stream filters: their state carries from one hop to the next
        self._highpass = SosFilter(butter_highpass_sos(RATE, float(highpass_hz), 4))
        self._k_weight = SosFilter(k_weighting_sos(RATE))
        self._window = np.zeros(round(MOMENTARY_S * RATE / HOP))  # K-weighted mean squares
        self._window_i = 0
        self.gain_db = 0.0
        self._lookahead = round(LOOKAHEAD_S * RATE) // 2 * 2  # even: the window centres
        self._delay = np.zeros(self._lookahead, np.float32)  # levelled, not yet limited
        self._history = np.zeros(_HISTORY, np.float32)
        self._pending_req = np.ones(self._lookahead)  # gain needed by the delayed samples
        self._ahead_tail = np.ones(self._lookahead - 1)
        self._limit_db = 0.0
        self._release = release_db_per_s / RATE
        self._held = np.zeros(0, np.float32)

    @property
    def latency(self) -> int:
        return self._lookahead

    @property
    def wait(self) -> int:
        """How long (samples) the denoiser may hold input before the chain sees it."""
        return self._denoiser.latency if self._denoiser else 0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Mono float32 at 48 kHz in; the chain's output so far (whole hops) out."""
        if self._denoiser is not None:
            x = self._denoiser.process(x)
        return self._process(x)

    def _process(self, x: np.ndarray) -> np.ndarray:
        self._held = np.concatenate([self._held, np.asarray(x, np.float32)])
        n = len(self._held) // HOP * HOP
        if n == 0:
            return np.zeros(0, np.float32)
        block, self._held = self._held[:n], self._held[n:]
        out = [self._hop(block[i : i + HOP]) for i in range(0, n, HOP)]
        return np.concatenate(out)

    def flush(self) -> np.ndarray:
        """Push the rest, and the look-ahead still held, out with silence."""
        rest = self._process(self._denoiser.flush()) if self._denoiser else np.zeros(0, np.float32)
        pad = (-len(self._held)) % HOP + HOP * math.ceil(self._lookahead / HOP)
        return np.concatenate([rest, self._process(np.zeros(pad, np.float32))])

    def _hop(self, x: np.ndarray) -> np.ndarray:
        y = self._highpass(x)
        self._level(y)
        start = self.gain_db
        self._step_gain()
        ramp = 10 ** (np.linspace(start, self.gain_db, len(y), endpoint=False) / 20)
        return self._limit((y * ramp).astype(np.float32))

    def _level(self, y: np.ndarray) -> None:
        k = self._k_weight(y)
        self._window[self._window_i] = float(np.mean(k * k))
        self._window_i = (self._window_i + 1) % len(self._window)
        self._hop_lufs = _lufs(float(self._window[self._window_i - 1]))
        self._momentary = _lufs(float(self._window.mean()))

    def _step_gain(self) -> None:
        if self._hop_lufs < SILENCE_LUFS or not math.isfinite(self._momentary):
            return  # a pause: hold
        want = min(MAX_BOOST_DB, max(MAX_CUT_DB, self.target_lufs - self._momentary))
        step = HOP / RATE * (RISE_DB_PER_S if want > self.gain_db else FALL_DB_PER_S)
        self.gain_db += max(-step, min(step, want - self.gain_db))

    def _limit(self, levelled: np.ndarray) -> np.ndarray:
        """Limit the delayed samples using the gain the next ``lookahead`` ones need."""
        la = self._lookahead
        y = np.concatenate([self._delay, levelled])  # y[:HOP] goes out now
        env = true_peak_envelope(np.concatenate([self._history, levelled]), RATE)[_HISTORY:]
        env = np.maximum(env, np.abs(levelled))
        need = np.minimum(1.0, self.ceiling / np.maximum(env, 1e-12))
        req = np.concatenate([self._pending_req, need])  # the gain each sample of y may have
        # each output sample takes the least gain of itself and the look-ahead after it, then
        # a moving average over the look-ahead, so the gain glides down before the peak
        ahead = running.minimum_filter1d(req, la + 1, origin=-(la // 2), mode="nearest")[:HOP]
        joined = np.concatenate([self._ahead_tail, ahead])
        smooth = np.convolve(joined, np.ones(la) / la, mode="valid")
        smooth = np.minimum(smooth, ahead)
        self._ahead_tail = joined[-(la - 1) :]
        # recover no faster than the release: g[i] = min(s[i], g[i-1] + r), in dB, closed form
        s_db = 20 * np.log10(np.maximum(smooth, 1e-6))
        i = np.arange(1, HOP + 1)
        g_db = np.minimum(s_db, self._limit_db + self._release * i)
        g_db = self._release * i + np.minimum.accumulate(g_db - self._release * i)
        g_db = np.minimum(g_db, 0.0)
        self._limit_db = float(g_db[-1])
        out = y[:HOP] * (10 ** (g_db / 20)).astype(np.float32)
        self._delay = y[HOP:]
        self._pending_req = req[HOP:]
        self._history = levelled[-_HISTORY:]
        clipped: np.ndarray = np.clip(out, -self.ceiling, self.ceiling).astype(np.float32)
        return clipped
