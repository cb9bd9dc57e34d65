"""Blind speech denoiser: noise tracking plus an optimally-modified speech estimator.

Shape convention: float32 mono ``(n,)`` in, float32 mono ``(n,)`` of the same length out.

This module runs the recording through it chunk by chunk; the gain per frame and bin is
:mod:`audio.denoise_gain`, the tuning :mod:`audio.denoise_params`.

Per STFT frame ``l`` and bin ``k`` (32 ms sqrt-Hann frames, 50 % overlap, see :mod:`audio.stft`;
above 8 kHz, bands of 4 bins, see :mod:`audio.bands`):

* ``lambda_d``: noise PSD tracked blindly from the recording itself (:mod:`audio.noise_estimate`:
  minimum statistics, Martin 2001, refined by IMCRA-style conditional averaging, Cohen 2003),
  together with the a priori speech-absence probability ``q``. It is bounded from below by the
  mean spectrum of the recording's quietest stretch (``profile_s``, 0.5 s: a phone recording
  starts and ends with background alone), times ``profile_weight`` below ``profile_split_hz``
  and ``profile_weight_high`` above it, and at most ``profile_max_db`` above the tracker:
  minimum statistics reads noise that fluctuates like speech (babble) 12-14 dB low, its plain
  mean over a pause does not. The quietest stretch of a fluctuating noise still lies below
  the noise's mean, so above 1 kHz, where speech has less of its energy and its bins are
  mostly noise, the bound is raised twofold: the band-dependent over-subtraction of Kamath &
  Loizou 2002 (their factor is 1 below 1 kHz and 2.5 above). A stretch that holds one talker
  (strongly periodic at pitch lags: a recording without a pause) bounds nothing.
* ``gamma = |Y|^2 / lambda_d``: a posteriori SNR (Ephraim & Malah 1984, eq. 9).
* ``xi``: a priori SNR by the decision-directed rule (Ephraim & Malah 1984, eq. 51)
  ``xi(l) = max(alpha * A(l-1)^2 / lambda_d + (1 - alpha) * max(gamma(l) - 1, 0), xi_min)``
  with ``A(l-1) = G(l-1) |Y(l-1)|`` and the ``xi_min`` floor of Cappé 1994. The whole recording
  is available, so the recursion also runs backwards in time and the two are averaged
  geometrically: the forward pass lags at speech onsets, the backward pass at offsets.
* Where speech dominates a segment (its blind SNR above 10 dB), ``alpha`` and the cepstral
  estimate's weight below fall as the SNR rises (:mod:`audio.light_touch`): the smoothing
  that keeps musical noise away in loud noise would make the gain lag weak syllables.
* ``G_H1``: the gain under speech presence, Wiener ``xi / (1 + xi)`` by default, or with
  ``lsa=True`` the MMSE log-spectral amplitude gain ``xi / (1 + xi) * exp(E1(v) / 2)``,
  ``v = gamma xi / (1 + xi)`` (Ephraim & Malah 1985, eq. 20). On the benchmark the Wiener gain
  scored slightly higher (PESQ-WB +0.01) and costs less.
  Below 8 kHz this is averaged geometrically with a second estimate (``cepstral``): the
  maximum-likelihood ``max(gamma - 1, xi_min)`` smoothed over time in the cepstral domain,
  strongly except for the spectral envelope and the pitch peak (Breithaupt, Gerkmann & Martin
  2008; :mod:`audio.cepstral_snr`). It has little musical noise and no onset lag, but blurs weak
  harmonics; the average of the two scores higher than either (PESQ-WB +0.02).
* The Wiener gain is corrected by a curve over ``xi`` fitted for PESQ-WB on the benchmark's
  tune split (``gain_correction_db``, :func:`audio.gain_table.correct`: 3 dB lower at
  ``xi`` = -15 dB, 6 dB lower at 5 dB, 3 dB lower at 15 dB), in full where a segment's blind
  SNR is at most 5 dB and fading out by 15 dB, and not under babble. Fitted to the true gain
  pointwise (a Fingscheidt-Suhadi table, ``gain_table``) the learned gain scored lower. A
  curve per frequency band (``gain_correction_band_db``) is there but off: fitted freely it
  scored higher only by tilting the speech's own spectrum, which PESQ-WB and STOI forgive
  (BENCHMARKS, round twelve).
* ``G = max(G_H1, G_min)``, never below the floor ``G_min`` (-34 dB): residual noise stays as
  a quiet floor and weak speech is attenuated by at most ``G_min``, never gated away. With
  ``q_max > 0``, the optimally-modified gain ``G = G_H1^p * G_min^(1 - p)`` (Cohen & Berdugo
  2001, eq. 19) instead, ``p = 1 / (1 + q / (1 - q) * (1 + xi) * exp(-v))`` the speech presence
  probability (eq. 16) from the tracker's absence weight ``q``; the default leaves it out,
  since that weight pulled speech bins to the floor (with the true a priori SNR, PESQ-WB 1.60
  with it and 2.02 without, on the tune split's original five noises).
* In a segment of wind gusts (:mod:`audio.wind`), which the tracker cannot follow, ``G_min``
  rises with their share (:mod:`audio.light_touch`).
* Mains hum is cancelled first (:mod:`audio.hum`, an adaptive notch comb). Where the
  background reads as a voice because a machine's steady harmonics go on through the pauses
  (a pump, a mill, a generator), the comb on the machine's own fundamental takes them, and if
  what is left no longer reads as a voice the rest is suppressed as any noise.
* Under babble (many voices at once that do not score as one voice, :mod:`audio.speech_background`)
  ``G_min`` is ``babble_floor_db``: the suppressor cannot tell those voices from the talker's,
  and with the floor of steady noise it took words with them (STOI below the input's).
* In frames that hold noise alone, by a statistical voice activity decision (Sohn, Kim & Sung
  1999) with a hangover, ``G_min`` is ``pause_floor_db`` lower: a quieter floor in pauses,
  unchanged under speech.
* Where speech dominates a segment (its blind SNR 10-20 dB and over), ``G_min`` in the frames
  of speech rises towards ``speech_floor_db`` (-10 dB): there is little noise to remove, and
  the deep floor took weak speech and reverberant tails with it (STOI and PESQ-WB below the
  untouched input's at 20 dB SNR; BENCHMARKS, round seven). Where the
  tracker's own estimate reads the segment as clean (10-20 dB), the quiet stretch may lift it
  by 3 dB at most (``profile_cap_db``): a phone's AGC lifts the pauses, where the stretch is
  read, by up to 12 dB over the noise under the voice. In frames that clearly hold speech
  (7.5 dB over the bounded estimate) it may lift it by 3 dB at most at any SNR
  (``profile_talk_lift_db``): under an AGC the tracker's segment SNR can stay below that range.
  Nor may it lift the estimate over the input's own mean power in the half second before or
  after a frame (the lower, weighted as the stretch, 3 dB over it: ``profile_local``): where
  the input there is clearly quieter than the stretch, so is the noise under it (BENCHMARKS,
  round eleven).

The decision-directed recursion runs over frames, but on many blocks of frames at once (each
block warmed up on the frames before it; the recursion forgets its start within a few frames),
so its Python loop has about 70 iterations per chunk of 1024 frames whatever the duration.
Long inputs are processed a chunk at a time, so memory stays flat.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from audio import cepstral_snr, hum, light_touch, pause, transient, wind
from audio.background_profile import Background, quiet_stretch, stretch_weights
from audio.bands import BandLayout, apply_gain, band_power, column_at, layout_for
from audio.denoise_actions import DenoiseActions
from audio.denoise_gain import (
    WARMUP_FRAMES,
    average_cepstral,
    decision_directed,
    suppression_gain,
)
from audio.denoise_params import DenoiseParams, params_from
from audio.mono_input import check_mono_float32
from audio.noise_estimate import (
    POWER_FLOOR,
    alignment_frames,
    context_frames,
    estimate_noise_floor_db,
    estimate_snr_db,
    track_noise,
)
from audio.samples import FloatArray
from audio.stft import (
    Chunk,
    StftGeometry,
    analyse,
    chunks,
    geometry_for,
    n_frames,
    synthesise_into,
)

__all__ = [
    "DenoiseActions",
    "DenoiseParams",
    "denoise",
    "denoise_with_actions",
    "estimate_noise_floor_db",
    "estimate_snr_db",
]


_CHUNK_FRAMES = 1024
_GAMMA_MAX = 1e12
_PAUSE_MARGIN = pause.HANG - 1  # frames each side of a chunk that the pause decision reads


def _hum(x: FloatArray, sr: int, *, machines: bool = False) -> hum.Hum | None:
    """Mains hum (or with ``machines`` a steady machine's drone) found in ``x``, if its comb
    holds the fundamental or the second harmonic: a mains transformer or rectifier, or a
    motor, always puts its strongest lines there, while a comb of only higher lines is the
    partials of music or a voice that happen to fall on it (a TV's music bed on the wider
    benchmark: harmonics 3, 12, 54 and 68)."""
    found = hum.detect_machine(x, sr) if machines else hum.detect(x, sr)
    return found if found is not None and min(found.harmonics) <= 2 else None


def _background(
    x: FloatArray, geom: StftGeometry, layout: BandLayout, sr: int, p: DenoiseParams
) -> Background:
    if p.profile_s <= 0:
        return Background(None, False)
    return quiet_stretch(
        x,
        geom,
        layout,
        sr,
        seconds=p.profile_s,
        weights=(p.profile_weight, p.profile_weight_high),
        split_hz=p.profile_split_hz,
    )


def _block_start(offset: int, frame: int) -> int:
    """The last frame at or before ``frame`` (of a chunk whose first frame is ``offset`` in the
    recording) that starts a block of ``cepstral_snr.BLOCK`` frames of the recording; at the
    chunk's start if there is none (the first chunk starts on a block)."""
    start = (offset + frame) // cepstral_snr.BLOCK * cepstral_snr.BLOCK - offset
    return start if start >= 0 else frame


def denoise(x: np.ndarray, sr: int, **tuning: object) -> np.ndarray:
    """Suppress stationary and slowly varying noise in speech; no noise-only clip needed.

    ``x`` is float32 mono ``(n,)`` at ``sr`` Hz; the result has the same shape and dtype.
    Keyword ``tuning`` overrides fields of :class:`DenoiseParams`. Raises ``ValueError`` for
    input that is not a non-empty, finite, float32 ``(n,)`` array or for unknown tuning.
    """
    return denoise_with_actions(x, sr, **tuning)[0]


def denoise_with_actions(
    x: np.ndarray, sr: int, **tuning: object
) -> tuple[np.ndarray, DenoiseActions]:
    """:func:`denoise`, and what it did: hum cancelled, wind turned down, transients kept to
    their frames, noise suppressed or the recording left alone (a speech-like background)."""
    check_mono_float32(x, sr)
    p = params_from(tuning)
    geom = geometry_for(sr, p.frame_ms, p.overlap)
    layout = layout_for(geom.n_bins, sr / geom.n_fft)
    found_hum = _hum(x, sr) if p.hum else None
    if found_hum is not None:
        x = hum.cancel(x, sr, found_hum)
    bg = _background(x, geom, layout, sr, p)
    if bg.speech_like and found_hum is None and p.hum and p.machines:
        # A steady machine's lines read as a voice held in the pauses. Where the comb takes
        # them and what is left is no longer voice-like, it was a machine (what is left is
        # suppressed as any noise); otherwise they were a voice's or music's, left as heard.
        machine = _hum(x, sr, machines=True)
        if machine is not None:
            combed = hum.cancel(x, sr, machine)
            combed_bg = _background(combed, geom, layout, sr, p)
            if not combed_bg.speech_like:
                found_hum, x, bg = machine, combed, combed_bg
    total = n_frames(x.shape[0], geom)
    margin = _PAUSE_MARGIN if p.pause_floor_db < 0.0 or p.speech_floor_db > p.floor_db else 0
    warmup = max(WARMUP_FRAMES, cepstral_snr.REACH if p.cepstral else 0)
    ctx = max(context_frames(geom.hop / sr, p.tracker), margin + warmup + cepstral_snr.BLOCK)
    # A periodic background in a humming recording is the hum's own buzz, not a voice.
    leave = bg.speech_like and p.leave_speech_like and found_hum is None
    lift = np.float32(10.0 ** (p.profile_max_db / 10.0))
    windy = transients = 0
    # gentle only where the babble floor is shallower: the report must not say so otherwise
    gentle = bg.babble and found_hum is None and not leave and p.babble_floor_db > p.floor_db
    y = np.zeros(x.shape, dtype=np.float32)  # calloc: pages are touched once, by the overlap-add
    for c in chunks(total, _CHUNK_FRAMES, ctx, alignment_frames(geom.hop / sr, p.tracker)):
        spec = analyse(x, geom, c.ctx_first, c.ctx_stop)
        P = band_power(spec, layout)
        core_lo, core_hi = c.first - c.ctx_first, c.stop - c.ctx_first
        w, share = None, 0.0
        if p.wind:
            found_wind = wind.gain(P[core_lo:core_hi], sr / geom.n_fft)
            w, gusts = found_wind.gain, found_wind.windy
            share = found_wind.gusty if p.gusts_under_voice else wind.gusty_share(w)
            # In a background of music or voices, a low burst is their bass unless it is
            # clearly wind (audio.light_touch.GUSTY_SHARE).
            if leave and wind.gusty_share(w) < light_touch.GUSTY_SHARE[1]:
                w = None
            else:
                windy += gusts
        if leave:
            gain = np.ones((core_hi - core_lo, layout.n_bands), dtype=np.float32)
        else:
            # Gusts the noise tracker cannot follow: a shallower suppression (audio.light_touch)
            floor_db = light_touch.gusty_floor_db(share, p.floor_db, p.gusty_floor_db)
            if gentle:
                # Voices the suppressor cannot tell from the talker's: a shallower floor
                # keeps the words it would take with them (audio.speech_background).
                floor_db = max(floor_db, p.babble_floor_db)
            gain, found = _suppression(
                P,
                bg.profile,
                lift=lift,
                core=(core_lo, core_hi),
                margin=margin,
                warmup=warmup,
                c=c,
                geom=geom,
                layout=layout,
                p=_segment_params(p, floor_db, gentle),
                sr=sr,
            )
            transients += found
        if w is not None:
            gain[:, : w.shape[1]] *= w
        core = spec[core_lo:core_hi]
        apply_gain(core, gain, layout)
        synthesise_into(y, core, geom, c.first)
    actions = DenoiseActions(
        suppressed=not leave,
        speech_like_background=leave,
        hum=found_hum,
        windy_s=round(windy * geom.hop / sr, 2),
        transients=transients,
        babble=gentle,
    )
    return y, actions


def _segment_params(p: DenoiseParams, floor_db: float, gentle: bool) -> DenoiseParams:
    """``p`` with the segment's floor; under babble, without the learned correction: it
    suppresses more at a priori SNRs of 5-15 dB, and there it took words with the voices
    (tune split, babble at 10 dB: STOI 0.005 lower on one recording, PESQ-WB unchanged); and
    with the quiet stretch's lift never capped (in any frame), since the tracker reads babble
    12-14 dB low."""
    if gentle:
        return dataclasses.replace(
            p,
            floor_db=floor_db,
            gain_correction_db=(0.0,) * len(p.gain_correction_db),
            gain_correction_band_db=(),
            profile_cap_snr_db=(math.inf, math.inf),
            profile_talk_lift_db=math.inf,
        )
    return p if floor_db == p.floor_db else dataclasses.replace(p, floor_db=floor_db)


def _suppression(
    P: FloatArray,
    profile: FloatArray | None,
    *,
    lift: np.float32,
    core: tuple[int, int],
    margin: int,
    warmup: int,
    c: Chunk,
    geom: StftGeometry,
    layout: BandLayout,
    p: DenoiseParams,
    sr: int,
) -> tuple[FloatArray, int]:
    """Gains of the core frames ``core`` of the chunk ``c`` (band power ``P`` over its
    context), and how many transient frames were kept to themselves."""
    tracked, q = track_noise(P, geom, sr, p.tracker)
    core_lo, core_hi = core
    if profile is not None:
        # The quiet stretch stands for the noise under speech too; a phone's AGC breaks that,
        # lifting the pauses (where the stretch is read) by up to 12 dB over the noise under the
        # voice, and the suppressor then takes weak syllables for noise. The tracker, which
        # reads the noise between syllables, sees the segment as clean: where its own SNR is
        # high, the stretch may lift it by little (profile_cap_db). Not under babble, which the
        # tracker reads 12-14 dB low.
        tracker_snr_db = light_touch.segmental_snr_db(P[core_lo:core_hi], tracked[core_lo:core_hi])
        lift = min(lift, _capped_lift(tracker_snr_db, lift, p))
    ceiling = (
        _local_ceiling(P, geom, layout, sr, p) if profile is not None and p.profile_local else None
    )
    lam = _bounded(tracked, profile, lift, ceiling)
    talk_lift = np.float32(10.0 ** (min(p.profile_talk_lift_db, 100.0) / 10.0))
    if profile is not None and talk_lift < lift:
        # Under a phone's AGC the stretch (read in the pauses) overstates the noise under the
        # voice, where the AGC has turned the gain down; the tracker reads the noise between
        # syllables. In frames that clearly hold more than noise, the stretch may lift the
        # tracker by little (profile_talk_lift_db); pauses keep the stretch's level.
        ratio = np.float32(10.0 ** (p.profile_talk_db / 10.0))
        talking = P.sum(axis=1) > ratio * lam.sum(axis=1)
        if talking.any():
            lam[talking] = _bounded(
                tracked[talking], profile, talk_lift, None if ceiling is None else ceiling[talking]
            )
    snr_db = light_touch.segmental_snr_db(P[core_lo:core_hi], lam[core_lo:core_hi])
    # Gains for the core and the frames the pause decision reads around it ...
    g_lo, g_hi = max(0, core_lo - margin), min(P.shape[0], core_hi + margin)
    # ... and around those, frames that warm the decision-directed recursion up and that
    # the cepstral smoothing reaches, from a block boundary of the recording on.
    lo = _block_start(c.ctx_first, max(0, g_lo - warmup))
    hi = min(P.shape[0], g_hi + warmup)
    gamma = P[lo:hi] / lam[lo:hi]  # a posteriori SNR (Ephraim & Malah 1984, eq. 9)
    np.minimum(gamma, np.float32(_GAMMA_MAX), out=gamma)
    sudden = transient.frames(P[lo:hi], geom.hop / sr) if p.transients else None
    smooth_in = gamma
    if sudden is not None and sudden.any():
        smooth_in = gamma.copy()
        smooth_in[sudden] = 1.0  # the smoothing sees the transient at the noise's level
    # Where speech dominates the segment, less smoothing (audio.light_touch).
    how = light_touch.smoothing(
        snr_db,
        p.alpha,
        p.alpha_light,
        (p.light_snr_lo_db, p.light_snr_hi_db),
    )
    xi = decision_directed(smooth_in, g_lo - lo, hi - g_hi, p, how.alpha)
    if p.cepstral and how.cepstral_weight > 0.0:
        average_cepstral(
            xi, smooth_in, g_lo - lo, layout.split, sr / geom.n_fft, weight=how.cepstral_weight
        )
    xi_min = np.float32(10.0 ** (p.xi_min_db / 10.0))
    found = 0
    if sudden is not None and sudden.any():
        own = sudden[g_lo - lo : g_hi - lo]
        xi[own] = np.maximum(gamma[g_lo - lo : g_hi - lo][own] - np.float32(1.0), xi_min)
        found = int(np.count_nonzero(sudden[core_lo - lo : core_hi - lo]))
    np.maximum(xi, xi_min, out=xi)
    own_frames = None if sudden is None else sudden[g_lo - lo : g_hi - lo]
    # The learned correction, like the smoothing, where the noise is loud (audio.light_touch).
    lo_db, hi_db = p.gain_correction_snr_db
    correction = min(1.0, max(0.0, (hi_db - snr_db) / max(hi_db - lo_db, 1e-6)))
    # Where speech dominates, a deep floor in frames of speech only takes weak syllables and
    # reverberant tails (which the suppressor reads as noise) with the little noise there is:
    # the floor under speech rises with the segment's blind SNR; pauses keep theirs.
    s_lo, s_hi = p.speech_floor_snr_db
    t = min(1.0, max(0.0, (snr_db - s_lo) / max(s_hi - s_lo, 1e-6)))
    speech_lift = t * max(0.0, p.speech_floor_db - p.floor_db)
    gain = suppression_gain(
        xi,
        gamma[g_lo - lo : g_hi - lo],
        q[g_lo:g_hi],
        p,
        own_frames,
        correction=correction,
        speech_lift_db=speech_lift,
        band_columns=tuple(
            column_at(layout, sr / geom.n_fft, hz) for hz in p.gain_correction_band_hz
        ),
    )
    return gain[core_lo - g_lo : core_hi - g_lo], found


def _bounded(
    tracked: FloatArray,
    profile: FloatArray | None,
    lift: np.float32,
    ceiling: FloatArray | None = None,
) -> FloatArray:
    """The tracker's noise estimate bounded from below by the quiet stretch's ``profile``
    (at most ``lift`` times above the tracker, and at most ``ceiling`` where given) and by the
    power floor."""
    if profile is None:
        lam = tracked.copy()
    else:
        bound = np.minimum(profile, tracked * lift)
        if ceiling is not None:
            np.minimum(bound, ceiling, out=bound)
        lam = np.maximum(tracked, bound)
    np.maximum(lam, np.float32(POWER_FLOOR), out=lam)
    return lam


def _local_ceiling(
    P: FloatArray, geom: StftGeometry, layout: BandLayout, sr: int, p: DenoiseParams
) -> FloatArray:
    """How high the quiet stretch may lift the estimate in each frame and band: the input's own
    mean power over ``profile_s`` ending at the frame or over ``profile_s`` starting at it,
    whichever is lower, weighted as the stretch is, and ``profile_local_margin_db`` over that.

    The stretch is the recording's quietest ``profile_s`` and stands for the noise everywhere.
    Where the input next to a frame holds clearly less power in a band than the stretch's noise,
    the noise there is below the stretch's: a phone's AGC lifted the pauses, where the stretch is
    read, and turned the gain down under the voice (or the noise faded). The stretch's level then
    took weak syllables for noise (the wider benchmark's applause under a phone's AGC: the speech
    after a burst cut by 16-31 dB where the noise under it lay 6 dB below the stretch's).
    One side at a time, so that a burst ending beside the frame does not hide the quiet after
    it. The margin: a steady noise's power over half a second, one bin at a time, scatters about
    the stretch's; without it the ceiling took its lift from the steady noises too (original five
    noises, tune split: 0.008 PESQ-WB less; BENCHMARKS, round eleven)."""
    width = max(1, round(p.profile_s * sr / geom.hop))
    n = P.shape[0]
    weights = stretch_weights(
        P.shape[1],
        layout,
        geom,
        sr,
        weights=(p.profile_weight, p.profile_weight_high),
        split_hz=p.profile_split_hz,
    ).astype(np.float32)
    weights *= np.float32(10.0 ** (p.profile_local_margin_db / 10.0))
    if n < width:
        whole: FloatArray = np.mean(P, axis=0, dtype=np.float64).astype(np.float32) * weights
        return np.broadcast_to(whole, P.shape)
    sums = np.empty((n + 1, P.shape[1]), dtype=np.float64)
    sums[0] = 0.0
    np.cumsum(P, axis=0, out=sums[1:])
    # mean[j]: the window of frames j .. j + width - 1, the one after frame j and the one before
    # frame j + width - 1. A frame without a whole window on one side takes the other's.
    mean = np.subtract(sums[width:], sums[:-width]).astype(np.float32)
    mean *= weights / np.float32(width)
    ceiling = np.empty(P.shape, dtype=np.float32)
    ceiling[: n - width + 1] = mean
    ceiling[n - width + 1 :] = np.inf
    np.minimum(ceiling[width - 1 :], mean, out=ceiling[width - 1 :])
    return ceiling


def _capped_lift(tracker_snr_db: float, lift: np.float32, p: DenoiseParams) -> np.float32:
    """How far the quiet stretch may lift the tracker's estimate: ``lift`` (``profile_max_db``)
    where the segment's SNR read from the tracker alone is at most ``profile_cap_snr_db[0]``,
    ``profile_cap_db`` from the second, linear in dB between."""
    lo, hi = p.profile_cap_snr_db
    if tracker_snr_db <= lo:
        return lift
    t = 1.0 if hi <= lo else min(1.0, (tracker_snr_db - lo) / (hi - lo))
    db = p.profile_max_db + t * (min(p.profile_cap_db, p.profile_max_db) - p.profile_max_db)
    return np.float32(10.0 ** (db / 10.0))
