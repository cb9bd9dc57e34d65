"""Generated speech-in-noise corpus for the noise-reduction benchmark (nothing is committed).

Speech: Vietnamese sentences spoken by espeak-ng with the northern, central and southern voices
(male and female variants), resampled to 16 kHz and padded with silence the way a phone
recording starts and ends. Noises (16 kHz, seeded, so every run is identical):

* ``white``  Gaussian white noise;
* ``pink``   1/f noise;
* ``engine`` idling motorbike / generator: a firing-rate harmonic series with a wandering
  rotation speed, firing-pulse amplitude modulation and low-passed exhaust noise;
* ``babble`` eight other utterances (all three accents) summed at random offsets;
* ``fan``    ceiling fan / air conditioner: low-passed broadband airflow with a blade-pass
  tone and harmonics, slowly amplitude-modulated by the oscillating head.
"""

from __future__ import annotations

import io
import subprocess
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.io.wavfile
import scipy.signal

from audio.samples import FloatArray

SR = 16000

TEST_SENTENCES = [
    "Thông báo của ủy ban nhân dân xã về lịch tiêm phòng cho trẻ em vào sáng thứ hai tuần sau.",
    "Bà con lưu ý, do mưa lớn kéo dài, nước sông đang lên nhanh, đề nghị không đi qua ngầm tràn.",
    "Chiều nay, hợp tác xã tổ chức họp bàn về kế hoạch gieo cấy vụ đông xuân tại nhà văn hóa thôn.",
    "Đề nghị các hộ gia đình chủ động gia cố nhà cửa, chằng chống mái tôn trước khi bão vào bờ.",
    "Trạm y tế xã khám bệnh miễn phí cho người cao tuổi từ bảy giờ sáng đến mười một giờ trưa.",
    "Xin mời bà con đến nhận hỗ trợ giống lúa mới tại sân kho hợp tác xã vào ngày mai.",
]
BABBLE_SENTENCES = [
    "Hôm nay thời tiết nắng nóng, nhiệt độ cao nhất khoảng ba mươi sáu độ.",
    "Các cháu học sinh tựu trường vào ngày năm tháng chín năm nay.",
    "Đội thanh niên tình nguyện sẽ dọn vệ sinh đường làng vào chủ nhật.",
    "Chợ phiên cuối tháng có nhiều hàng nông sản của bà con trong xã.",
    "Người dân cần khai báo tạm trú khi có khách từ nơi khác đến ở qua đêm.",
    "Ban chỉ huy quân sự xã thông báo lịch khám sức khỏe nghĩa vụ quân sự.",
    "Hội phụ nữ xã tổ chức lớp tập huấn chăn nuôi gà thả vườn.",
    "Đường liên thôn đang được sửa chữa, xe tải nặng vui lòng đi đường khác.",
]
VOICES = ["vi", "vi-vn-x-central", "vi-vn-x-south"]
NOISES = ["white", "pink", "engine", "babble", "fan"]
SNRS_DB = [0, 5, 10]


@dataclass(frozen=True)
class Utterance:
    name: str
    speech: FloatArray  # 16 kHz, padded with silence
    active: slice  # where the unpadded utterance lies


def speak(text: str, voice: str, speed: int = 150) -> FloatArray:
    """espeak-ng speech at 16 kHz, float32 in [-1, 1]."""
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    # espeak-ng writes a streaming WAV header with a placeholder length; trust the data.
    with io.BytesIO(out) as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
        rate, data = scipy.io.wavfile.read(f)
    x = data.astype(np.float64) / 32768.0
    g = np.gcd(SR, rate)
    y: FloatArray = scipy.signal.resample_poly(x, SR // g, rate // g).astype(np.float32)
    return y


@lru_cache(maxsize=1)
def utterances() -> tuple[Utterance, ...]:
    """The six test utterances: two sentences per accent, a male and a female variant."""
    out = []
    for i, text in enumerate(TEST_SENTENCES):
        voice = VOICES[i % 3] + ("+f3" if i >= 3 else "")
        s = speak(text, voice)
        s *= np.float32(0.25 / np.max(np.abs(s)))
        lead, tail = int(0.6 * SR), int(0.4 * SR)
        padded = np.concatenate([np.zeros(lead, np.float32), s, np.zeros(tail, np.float32)])
        out.append(Utterance(f"{voice}#{i}", padded, slice(lead, lead + s.shape[0])))
    return tuple(out)


def _lowpass(x: npt.NDArray[np.float64], hz: float, order: int = 2) -> npt.NDArray[np.float64]:
    sos = scipy.signal.butter(order, hz, "low", fs=SR, output="sos")
    y: npt.NDArray[np.float64] = scipy.signal.sosfilt(sos, x)
    return y


def _pink(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    spec[1:] /= np.sqrt(f[1:] / f[1])
    spec[0] = 0.0
    y: npt.NDArray[np.float64] = np.fft.irfft(spec, n)
    return y


def _engine(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    t = np.arange(n) / SR
    wander = np.cumsum(rng.standard_normal(n)) / np.sqrt(SR) * 0.02
    f0 = 42.0 * (1.0 + 0.04 * np.sin(2 * np.pi * 0.35 * t) + wander)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    harm = sum((1.0 / k**0.8) * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, 60))
    firing = 1.0 + 0.6 * np.maximum(np.sin(phase / 2), 0.0) ** 4  # 4-stroke: every other turn
    exhaust = _lowpass(rng.standard_normal(n), 900.0) * firing
    x = harm * firing + 2.0 * exhaust
    return _lowpass(x, 4000.0, 4)


def _babble(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    out = np.zeros(n)
    for i, text in enumerate(BABBLE_SENTENCES):
        voice = VOICES[i % 3] + ("+f2" if i % 2 else "+m3")
        s = speak(text, voice, speed=140 + 10 * (i % 4)).astype(np.float64)
        s /= np.sqrt(np.mean(s**2))
        reps = np.tile(np.concatenate([s, np.zeros(int(0.3 * SR))]), n // s.shape[0] + 2)
        start = int(rng.integers(0, s.shape[0]))
        out += reps[start : start + n]
    return out


def _fan(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    t = np.arange(n) / SR
    air = _lowpass(rng.standard_normal(n), 1500.0) + 0.15 * rng.standard_normal(n)
    blade = 2 * np.pi * 4 * 19.5 * t  # 4 blades at 19.5 rev/s
    tone = sum(0.5 / k * np.sin(k * blade + rng.uniform(0, 2 * np.pi)) for k in range(1, 6))
    sway = 1.0 + 0.25 * np.sin(2 * np.pi * 0.08 * t + rng.uniform(0, 2 * np.pi))
    return (air + 0.4 * tone) * sway


_GENERATORS = {
    "white": lambda n, rng: rng.standard_normal(n),
    "pink": _pink,
    "engine": _engine,
    "babble": _babble,
    "fan": _fan,
}


def noise(kind: str, n: int, seed: int) -> FloatArray:
    """``n`` samples of noise ``kind`` at unit RMS."""
    x = _GENERATORS[kind](n, np.random.default_rng(seed))
    x = x - np.mean(x)
    out: FloatArray = (x / np.sqrt(np.mean(x**2))).astype(np.float32)
    return out


def mix(u: Utterance, noise_signal: FloatArray, snr_db: float) -> FloatArray:
    """Speech plus noise scaled to ``snr_db`` relative to the active speech's power."""
    p_speech = float(np.mean(u.speech[u.active].astype(np.float64) ** 2))
    scale = np.sqrt(p_speech / 10.0 ** (snr_db / 10.0))
    return (u.speech + np.float32(scale) * noise_signal).astype(np.float32)
