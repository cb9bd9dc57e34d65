"""Speech test material generated at test time with espeak-ng (nothing is committed), and the
tools the audio tests need."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")
TEXTS = (
    "Thông báo của Ủy ban nhân dân xã về việc phòng chống cơn bão số ba. Đề nghị bà con "
    "chằng chống nhà cửa, thu hoạch lúa sớm và không ra khơi trong những ngày tới.",
    "Xin chào bà con. Đây là đài truyền thanh xã. Sáng mai lúc bảy giờ, trạm y tế xã sẽ "
    "tiêm vắc xin cho trẻ em dưới năm tuổi tại nhà văn hóa thôn Đông.",
    "Hội Nông dân xã tổ chức lớp tập huấn kỹ thuật trồng lúa vào chiều thứ sáu. "
    "Mời bà con đến đúng giờ và mang theo giấy tờ cần thiết.",
)


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def low_bitrate_opus(path: Path, seconds: float) -> Path:
    """Silence at 6 kb/s Opus: a few kB a minute that decode to 11.5 MB a minute (48 kHz float32),
    the shape of a decompression bomb."""
    ffmpeg(
        *("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds)),
        *("-c:a", "libopus", "-b:a", "6k", "-frame_duration", "60", str(path)),
    )
    return path


@lru_cache(maxsize=16)
def speak(text_index: int = 0, voice: str = "vi", sr: int = 16000) -> np.ndarray:
    """One Vietnamese sentence as float32 mono at ``sr`` (espeak-ng renders 22.05 kHz)."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "150", "--stdout", TEXTS[text_index]],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    g = np.gcd(rate, sr)
    return np.asarray(ss.resample_poly(x, sr // g, rate // g), dtype=np.float32)


def bulletin(
    seconds: float, sr: int = 16000, *, seed: int = 0, noise_db: float = -60.0
) -> np.ndarray:
    """Sentences in all three voices with pauses and a little room noise, ``seconds`` long.

    Speech is at its natural espeak level (about -20 LUFS); noise is white, ``noise_db`` dBFS RMS.
    """
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = [np.zeros(int(0.5 * sr), dtype=np.float32)]
    total = parts[0].size
    i = 0
    while total < seconds * sr:
        s = speak(i % len(TEXTS), VOICES[i % len(VOICES)], sr)
        parts.append(s * np.float32(10 ** (rng.uniform(-3, 3) / 20)))
        parts.append(np.zeros(int(rng.uniform(0.3, 0.8) * sr), dtype=np.float32))
        total += parts[-1].size + parts[-2].size
        i += 1
    x = np.concatenate(parts)[: int(seconds * sr)]
    x = x + rng.standard_normal(x.size).astype(np.float32) * np.float32(10 ** (noise_db / 20))
    return np.asarray(x, dtype=np.float32)


def write_wav(path: str, x: np.ndarray, sr: int) -> None:
    """16-bit WAV; ``x`` is ``(n,)`` or ``(n, channels)``."""
    frames = x if x.ndim == 2 else x[:, None]
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """The first channel of a 16-bit WAV as float32, and its rate."""
    with wave.open(str(path), "rb") as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        channels, rate = w.getnchannels(), w.getframerate()
    return frames.reshape(-1, channels)[:, 0].astype(np.float32) / 32768.0, rate


def amr_with_rejected_frames(wav: Path, out: Path) -> Path:
    """``wav`` as AMR-NB with every 7th frame made a SID (comfort-noise) header, which FFmpeg's
    decoder rejects, as phones with DTX produce. AMR-NB storage: "#!AMR\\n", then frames of a
    1-byte header (frame type in bits 3-6) and a payload whose size depends on the type."""
    subprocess.run(["sox", "-D", str(wav), "-r", "8000", "-t", "amr-nb", str(out)], check=True)
    data = bytearray(out.read_bytes())
    sizes = [12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0]
    pos, heads = 6, []
    while pos < len(data):
        heads.append(pos)
        pos += 1 + sizes[(data[pos] >> 3) & 15]
    for h in heads[5::7]:
        data[h] = (data[h] & 0x83) | (8 << 3)
    out.write_bytes(bytes(data))
    return out
