"""The wider noise-reduction corpus: thirteen noises, four SNRs, talkers of different pitch and
speed, room and phone variants, and a held-out split (generated and seeded; nothing committed).

* **Splits.** ``tune``: the six utterances of :mod:`bench.corpus` (the denoiser was tuned on
  them). ``held-out``: four other sentences, other voice variants and speaking rates (120-190
  words a minute), other noise seeds; never used for tuning, reported separately.
* **Noises.** The original five (:data:`bench.corpus.NOISES`) and the eight real-life ones of
  :mod:`bench.corpus_noises`, at 0, 5, 10 and 20 dB SNR (speech power over its active part).
* **Variants**, one per case in turn (the original five noises on the tune split stay
  ``plain`` so that their figures compare with earlier rounds):
  ``plain``; ``reverb`` (the talker across an office, RT60 0.4 s; the reference is the
  reverberant speech: the denoiser is not a dereverberator); ``close`` (close talking: 6 dB
  more bass below 300 Hz, the proximity effect); ``phone-amr`` (a phone's AGC, then AMR-NB
  12.2 kbit/s through sox and back to 16 kHz); ``phone-aac`` (the AGC, then AAC 32 kbit/s
  through ffmpeg). Phone processing applies to the mixture, as a phone records it; the
  reference stays the clean speech.

Mixtures are cached under ``var/bench-corpus/`` keyed by the case and :data:`VERSION`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.signal

from audio.samples import FloatArray
from bench import corpus
from bench.corpus import SR, Utterance
from bench.corpus_noises import GENERATORS, room

VERSION = 2  # 2: the AMR cases made repeatable (sox -R)
CACHE = Path("var/bench-corpus")
NEW_NOISES = list(GENERATORS)
NOISES = [*corpus.NOISES, *NEW_NOISES]
SNRS_DB = [0, 5, 10, 20]
VARIANTS = ["plain", "reverb", "close", "phone-amr", "phone-aac"]
SPLITS = ["tune", "held-out"]
HELD_OUT = [
    (
        "Ủy ban nhân dân xã thông báo lịch cắt điện để sửa chữa đường dây vào sáng chủ nhật.",
        "vi+f4",
        175,
    ),
    (
        "Đề nghị bà con không thả trâu bò vào ruộng lúa mới gieo ở cánh đồng thôn Bắc.",
        "vi-vn-x-central+m3",
        120,
    ),
    (
        "Hạn chót nộp hồ sơ xin hỗ trợ sửa nhà sau bão là ngày mười lăm tháng này.",
        "vi-vn-x-south+f2",
        190,
    ),
    ("Loa phát thanh xin nhắc: trẻ em dưới năm tuổi được uống vitamin A miễn phí.", "vi+m7", 135),
]


@dataclass(frozen=True)
class Case:
    split: str  # "tune" or "held-out"
    utterance: int
    kind: str  # a noise of NOISES, or "clean"
    snr_db: float
    variant: str = "plain"


@dataclass(frozen=True)
class Mixture:
    reference: FloatArray  # what a perfect denoiser would give back
    noisy: FloatArray
    noise_clip: FloatArray  # 2 s of the same noise alone, at the mixture's level (for noisereduce)
    noise: FloatArray  # the noise as mixed (for oracle figures)


@lru_cache(maxsize=1)
def held_out() -> tuple[Utterance, ...]:
    out = []
    for i, (text, voice, rate) in enumerate(HELD_OUT):
        s = corpus.speak(text, voice, speed=rate)
        s *= np.float32(0.25 / np.max(np.abs(s)))
        lead, tail = int(0.5 * SR), int(0.5 * SR)
        padded = np.concatenate([np.zeros(lead, np.float32), s, np.zeros(tail, np.float32)])
        out.append(Utterance(f"{voice}@{rate}#h{i}", padded, slice(lead, lead + s.shape[0])))
    return tuple(out)


def utterances(split: str) -> tuple[Utterance, ...]:
    return corpus.utterances() if split == "tune" else held_out()


def cases(splits: list[str], kinds: list[str], snrs: list[float], clean: bool) -> list[Case]:
    """Every utterance of ``splits`` with every noise of ``kinds`` at every SNR, each with its
    variant in turn; with ``clean``, every utterance alone as well (do no harm)."""
    out = []
    for split in splits:
        for i in range(len(utterances(split))):
            for j, kind in enumerate(kinds):
                for k, snr in enumerate(snrs):
                    if split == "tune" and kind in corpus.NOISES:
                        variant = "plain"
                    else:
                        variant = VARIANTS[(i + j + k) % len(VARIANTS)]
                    out.append(Case(split, i, kind, snr, variant))
            if clean:
                out.append(Case(split, i, "clean", 0.0))
    return out


def _seed(case: Case) -> int:
    base = 100 * case.utterance + NOISES.index(case.kind)
    return base + (50000 if case.split == "held-out" else 0)


def noise(kind: str, n: int, seed: int) -> FloatArray:
    """``n`` samples of any noise of :data:`NOISES` at unit RMS."""
    if kind in corpus.NOISES:
        return corpus.noise(kind, n, seed)
    x = GENERATORS[kind](n, np.random.default_rng(seed))
    x = x - np.mean(x)
    out: FloatArray = (x / np.sqrt(np.mean(x**2))).astype(np.float32)
    return out


def _speech(u: Utterance, variant: str, seed: int) -> Utterance:
    if variant == "reverb":
        wet = room(u.speech.astype(np.float64), np.random.default_rng(seed), rt60=0.4, direct=0.6)
        wet *= np.sqrt(np.mean(u.speech.astype(np.float64) ** 2) / np.mean(wet**2))
        return Utterance(u.name, wet.astype(np.float32), u.active)
    if variant == "close":
        sos = scipy.signal.butter(2, 300.0, "low", fs=SR, output="sos")
        bass = scipy.signal.sosfilt(sos, u.speech.astype(np.float64))
        y = u.speech + np.float32(10 ** (6 / 20) - 1) * bass.astype(np.float32)
        y *= np.float32(0.25 / np.max(np.abs(y)))
        return Utterance(u.name, y.astype(np.float32), u.active)
    return u


def agc(x: FloatArray) -> FloatArray:
    """A phone's automatic gain control: the level over 0.3 s pulled halfway towards -20 dBFS
    (at most 12 dB either way)."""
    sos = scipy.signal.butter(1, 1.0 / 0.3, "low", fs=SR, output="sos")
    env = np.sqrt(np.maximum(scipy.signal.sosfiltfilt(sos, x.astype(np.float64) ** 2), 1e-10))
    gain = np.clip((0.1 / env) ** 0.5, 10 ** (-12 / 20), 10 ** (12 / 20))
    out: FloatArray = (x * gain).astype(np.float32)
    return out


def _align(y: np.ndarray, x: FloatArray) -> FloatArray:
    """``y`` shifted to line up with ``x`` (codecs add a delay), cut or padded to its length."""
    lag_max = 4096
    c = scipy.signal.correlate(y[: 8 * SR], x[: 8 * SR], mode="full", method="fft")
    mid = x[: 8 * SR].shape[0] - 1
    lag = int(np.argmax(c[mid : mid + lag_max]))
    out = np.zeros_like(x)
    part = y[lag : lag + x.shape[0]]
    out[: part.shape[0]] = part
    return out


def _pcm(x: FloatArray) -> bytes:
    return np.clip(x * 32767, -32768, 32767).astype("<i2").tobytes()


def _codec(x: FloatArray, variant: str) -> FloatArray:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "in.raw"
        raw.write_bytes(_pcm(x))
        fmt = ["-t", "raw", "-r", str(SR), "-e", "signed", "-b", "16", "-c", "1"]
        if variant == "phone-amr":
            amr = Path(tmp) / "x.amr"
            subprocess.run(
                ["sox", "-R", *fmt, str(raw), "-r", "8000", "-t", "amr-nb", str(amr)], check=True
            )
            out = subprocess.run(
                [
                    "sox",
                    "-R",  # repeatable: sox's dither seeded, so a case is the same mixture anywhere
                    "-t",
                    "amr-nb",
                    str(amr),
                    "-r",
                    str(SR),
                    "-e",
                    "signed",
                    "-b",
                    "16",
                    "-t",
                    "raw",
                    "-",
                ],
                check=True,
                capture_output=True,
            ).stdout
        else:
            aac = Path(tmp) / "x.aac"
            pcm = ["-f", "s16le", "-ar", str(SR), "-ac", "1"]
            quiet = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
            subprocess.run(
                [*quiet, *pcm, "-i", str(raw), "-c:a", "aac", "-b:a", "32k", str(aac)], check=True
            )
            out = subprocess.run(
                [*quiet, "-i", str(aac), *pcm, "-"], check=True, capture_output=True
            ).stdout
    y = np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0
    return _align(y, x)


def _key(case: Case) -> Path:
    # the SNR as a float, so that 20 and 20.0 name the same mixture
    text = f"{VERSION}|{dataclasses.replace(case, snr_db=float(case.snr_db))}"
    return CACHE / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.npz"


def mixture(case: Case) -> Mixture:
    """The case's reference, noisy input, noise clip and noise (cached on disk)."""
    path = _key(case)
    if path.exists():
        with np.load(path) as f:
            return Mixture(f["reference"], f["noisy"], f["noise_clip"], f["noise"])
    seed = _seed(case) if case.kind != "clean" else 0
    u = _speech(utterances(case.split)[case.utterance], case.variant, seed)
    if case.kind == "clean":
        silent = np.zeros(2 * SR, np.float32)
        m = Mixture(u.speech, u.speech, silent, np.zeros_like(u.speech))
    else:
        n = noise(case.kind, u.speech.shape[0], seed)
        noisy = corpus.mix(u, n, case.snr_db)
        scale = np.float32((noisy - u.speech).std() / n.std())
        clip = noise(case.kind, 2 * SR, seed + 7919) * scale
        if case.variant.startswith("phone"):
            noisy = _codec(agc(noisy), case.variant)
        m = Mixture(u.speech, noisy.astype(np.float32), clip.astype(np.float32), n * scale)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, reference=m.reference, noisy=m.noisy, noise_clip=m.noise_clip, noise=m.noise)
    tmp.replace(path)
    return m
