"""The denoiser's tuning (:class:`DenoiseParams`): every field may be passed to
:func:`audio.denoise.denoise` as a keyword, and each says why it has its value."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from audio.gain_table import CORRECTION_KNOTS_DB, GainTable
from audio.noise_estimate import TrackerParams


@dataclass(frozen=True)
class DenoiseParams:
    """Tuning of :func:`denoise`; every field may be passed to it as a keyword."""

    # Gain floor G_min: residual noise level, never silence. -34 rather than -28 with q_max 0:
    # original five noises (tune split, 0-10 dB) mean PESQ-WB 1.471 -> 1.495 (BENCHMARKS,
    # round five); deeper (-37, -40) gained under 0.003 more.
    floor_db: float = -34.0
    alpha: float = 0.92  # decision-directed smoothing (Ephraim & Malah 1984)
    # ... relaxed to alpha_light, with the cepstral average, as a segment's blind SNR rises
    # from light_snr_lo_db to light_snr_hi_db (audio.light_touch). 0.6 rather than 0.8: on the
    # tune split's 20 dB cells STOI 0.0005-0.002 higher (white, pink, engine, fan, market were
    # below the input), at 0.004 less mean PESQ-WB over all cells.
    alpha_light: float = 0.6
    light_snr_lo_db: float = 10.0
    light_snr_hi_db: float = 20.0
    # G_min in a segment of wind gusts (audio.light_touch.gusty_floor_db). Tune split, with gusts
    # under voiced frames counted: -8 dB left a reverberant wind at 0 dB below the input
    # (-0.02 PESQ-WB), -5 dB lifts it to +0.05 and every wind case at 0-5 dB gains.
    gusty_floor_db: float = -5.0
    xi_min_db: float = -25.0  # a priori SNR floor (Cappé 1994)
    # Cap of the a priori speech-absence probability (Cohen 2001). 0: no speech-presence
    # weighting, the plain Wiener gain above G_min. The tracker's absence weight (32 ms steps,
    # smoothed over 0.8 s) pulls speech bins towards the floor: fed the true a priori SNR, the
    # gain scored 1.60 PESQ-WB with it and 2.02 without; blind, 1.451 -> 1.471 (tune split,
    # original five noises; BENCHMARKS, round five). Cohen's own q from the smoothed a priori
    # SNR (local, global and frame presence) scored lower still (1.35-1.42).
    q_max: float = 0.0
    lsa: bool = False  # log-spectral amplitude instead of Wiener gain under speech presence
    bidirectional: bool = True  # decision-directed recursion forwards and backwards in time
    cepstral: bool = True  # average xi with the cepstro-temporally smoothed estimate
    pause_floor_db: float = -12.0  # G_min lowered by this much in frames of noise alone; 0: off
    profile_s: float = 0.5  # quietest stretch whose mean spectrum bounds the noise; 0: off
    profile_weight: float = 1.0  # below profile_split_hz
    profile_weight_high: float = 2.0  # above profile_split_hz
    profile_split_hz: float = 1000.0
    # G_min in frames of speech (the pause decision's complement) rises to speech_floor_db as the
    # segment's blind SNR rises over speech_floor_snr_db: where little noise is left to remove,
    # a deep floor only takes weak speech and reverberant tails with it. At or below floor_db:
    # never (BENCHMARKS, round seven).
    speech_floor_db: float = -10.0
    speech_floor_snr_db: tuple[float, float] = (10.0, 20.0)
    # A stretch holding speech must not lift the noise further. Babble reads more than 20 dB
    # low in a tenth of its bins; measured, a 20 dB cap cost babble 0.02 PESQ-WB.
    profile_max_db: float = 40.0
    # ... and at most profile_cap_db where the segment's SNR read from the tracker alone rises
    # over profile_cap_snr_db (audio.denoise._capped_lift): a phone's AGC lifts the pauses, where
    # the stretch is read, over the noise under the voice. Tune split: TV 20 dB and animals 5 dB
    # (both AMR) no longer below the input; PESQ-WB at 20 dB up to 0.08 lower (BENCHMARKS, round
    # seven). Read from the estimate with the stretch, the SNR is itself lowered by the AGC's
    # lift and the cap fixed one of the two.
    profile_cap_db: float = 3.0
    profile_cap_snr_db: tuple[float, float] = (10.0, 20.0)
    # ... and in frames that clearly hold more than noise (their power profile_talk_db over the
    # bounded estimate's), at most profile_talk_lift_db whatever the segment's SNR: a phone's AGC
    # turns the gain down while someone talks, so the noise under the voice lies below the
    # pauses' level, which the stretch reads, by up to 12 dB, and the suppressor took weak
    # syllables for noise. Tune split, white noise and hum at every SNR and variant, six
    # utterances: 25 of 240 recordings below the input -> 16; at 6 dB instead of 7.5, 15 but
    # down to -0.011 STOI on one at 5 dB; at 9 dB, 16 and PESQ-WB +0.002 (BENCHMARKS, round
    # eight). math.inf: off.
    profile_talk_lift_db: float = 3.0
    profile_talk_db: float = 7.5
    # ... and at most the input's own mean power over profile_s on one side of the frame,
    # weighted as the stretch and profile_local_margin_db over it (audio.denoise._local_ceiling):
    # where the input next to a frame is clearly quieter than the stretch, so is the noise (a
    # phone's AGC, a noise that faded). Tune split, applause 5 dB under the AGC no longer below
    # the input; with no margin the original five noises lost 0.008 PESQ-WB, with 6 dB the
    # applause cell stayed below (BENCHMARKS, round eleven). False: off.
    profile_local: bool = True
    profile_local_margin_db: float = 3.0
    frame_ms: float = 32.0
    overlap: int = 2
    hum: bool = True  # cancel mains hum (audio.hum)
    # ... and a steady machine's drone (a pump, a mill, a generator) where its lines make the
    # background read as a voice: without it such a recording was left whole (BENCHMARKS, round
    # eight). Elsewhere the suppressor takes a machine's lines as it takes any steady noise.
    machines: bool = True
    wind: bool = True  # turn wind bursts down (audio.wind)
    transients: bool = True  # keep short loud sounds to their frames (audio.transient)
    # the gusty floor counts gusts under voiced frames too (audio.wind.WindGain.gusty)
    gusts_under_voice: bool = True
    leave_speech_like: bool = True  # leave a voice-like background (audio.speech_background)
    babble_floor_db: float = -12.0  # G_min under babble (audio.speech_background.is_babble)
    tracker: TrackerParams = field(default_factory=TrackerParams)
    # A gain learned from data, G(xi, gamma), instead of the Wiener rule and its correction
    # below (audio.gain_table). Fitted to the true gain on the tune split (bench.train_gain),
    # every table scored below the Wiener rule on the original five noises (1.495 -> 1.40-1.48
    # PESQ-WB; BENCHMARKS, round six), so None.
    gain_table: GainTable | None = None
    # dB added to the Wiener gain at a priori SNRs of audio.gain_table.CORRECTION_KNOTS_DB
    # (-25, -15, -5, 5, 15, 25 dB), fitted for PESQ-WB on the tune split (bench.train_gain
    # --pesq); all zeros: the Wiener rule. Original five noises, tune split, 0-10 dB: 1.495 ->
    # 1.535, held-out 1.437 -> 1.487 (BENCHMARKS, round six).
    gain_correction_db: tuple[float, ...] = (0.0, -3.0, 0.0, -6.0, -3.0, 0.0)
    # ... in full where a segment's blind SNR is at most the first value, not at all from the
    # second, linear in between: at 10-20 dB it cost STOI (tune pink 10 dB 0.004, 20 dB cells
    # of five noises 0.001-0.003) for PESQ the light touch already gives.
    gain_correction_snr_db: tuple[float, float] = (5.0, 15.0)
    # ... and per frequency band, dB added on top of gain_correction_db: one tuple of six
    # (at the same knots) for each band, the bands split at gain_correction_band_hz (one more
    # band than edges), fitted by bench.train_gain --pesq --bands. Empty: the same curve at
    # every frequency, the default. Fitted freely it scored higher (original five noises,
    # 0-10 dB: tune 1.534 -> 1.594, held-out 1.485 -> 1.574, STOI higher, no cell below the
    # input) by tilting the speech's own spectrum (1.5-3.5 kHz 6 dB down against 0.5-1.5 kHz),
    # which PESQ-WB and STOI both forgive: a fixed equaliser after the denoiser does as much.
    # Not kept (BENCHMARKS, round twelve).
    gain_correction_band_hz: tuple[float, ...] = ()
    gain_correction_band_db: tuple[tuple[float, ...], ...] = ()
    # ... and dB added at a posteriori SNRs (gamma) of the same knots; empty: none (on top
    # of the free fit above it gained 0.003 on the fit's own mixtures: BENCHMARKS, round twelve)
    gain_correction_gamma_db: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("floor_db", "gusty_floor_db", "babble_floor_db"):
            if not -60.0 <= getattr(self, name) <= 0.0:
                raise ValueError(f"{name} must be within [-60, 0] dB, got {getattr(self, name)}")
        if not (0.0 <= self.alpha < 1.0 and 0.0 <= self.alpha_light < 1.0):
            raise ValueError(
                f"alpha and alpha_light must be within [0, 1), got {self.alpha}, {self.alpha_light}"
            )
        if self.light_snr_hi_db < self.light_snr_lo_db:
            raise ValueError("light_snr_hi_db must not be below light_snr_lo_db")
        if not 0.0 <= self.q_max < 1.0:
            raise ValueError(f"q_max must be within [0, 1), got {self.q_max}")
        profile = (
            self.profile_s,
            self.profile_weight,
            self.profile_weight_high,
            self.profile_split_hz,
        )
        if min(profile) < 0.0:
            raise ValueError(
                "profile_s, the profile weights and profile_split_hz must not be negative"
            )
        if self.pause_floor_db > 0.0:
            raise ValueError(f"pause_floor_db must not be positive, got {self.pause_floor_db}")
        bands = self.gain_correction_band_db
        if bands and (
            len(bands) != len(self.gain_correction_band_hz) + 1
            or any(len(b) != len(CORRECTION_KNOTS_DB) for b in bands)
        ):
            raise ValueError(
                f"gain_correction_band_db needs one tuple of {len(CORRECTION_KNOTS_DB)} values "
                f"per band ({len(self.gain_correction_band_hz) + 1} bands), got {bands}"
            )
        if self.gain_correction_gamma_db and len(self.gain_correction_gamma_db) != len(
            CORRECTION_KNOTS_DB
        ):
            raise ValueError(
                f"gain_correction_gamma_db needs {len(CORRECTION_KNOTS_DB)} values or none, got "
                f"{self.gain_correction_gamma_db}"
            )
        if len(self.gain_correction_db) != len(CORRECTION_KNOTS_DB):
            raise ValueError(
                f"gain_correction_db needs {len(CORRECTION_KNOTS_DB)} values (dB at xi "
                f"{CORRECTION_KNOTS_DB} dB), got {len(self.gain_correction_db)}"
            )


def params_from(tuning: dict[str, object]) -> DenoiseParams:
    """``tuning`` as :class:`DenoiseParams`; a ValueError names a key it does not know."""
    names = {f.name for f in dataclasses.fields(DenoiseParams)}
    unknown = sorted(set(tuning) - names)
    if unknown:
        raise ValueError(f"unknown denoise tuning {unknown}; known: {sorted(names)}")
    return DenoiseParams(**tuning)  # type: ignore[arg-type]
