"""Opus for the live path: one packet per fixed frame in, samples (or concealment) out.

The encoder is PyAV's libopus, set for speech at a constant frame with in-band forward error
correction (each packet also carries a coarse copy of the previous one). The decoder calls
libopus itself through ctypes: FFmpeg's decoder has no way to ask for packet-loss concealment
(an empty packet means end of stream to it), and a live point must fill a lost packet with
libopus's own concealment, or recover it from the next packet's FEC copy.
The libopus used is the system's (``libopus0``) or else the one inside PyAV's wheel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np

RATE: Final = 48000
# libopus frames allowed on the live path (ms); RFC 6716 also has 2.5, 5 and 10 ms frames,
# whose packet overhead (header and signature) would outweigh the audio.
FRAME_MS: Final = (20, 40, 60)
DEFAULT_BITRATE: Final = 32_000  # speech to horn loudspeakers: wideband at 32 kbit/s
EXPECTED_LOSS_PCT: Final = 5  # tells the encoder how much FEC to carry
# libopus's look-ahead at 48 kHz (OPUS_GET_LOOKAHEAD: Fs/400 + Fs/250 for the voip and audio
# applications), when PyAV does not say it: the first packet starts this far before the input.
OPUS_LOOKAHEAD: Final = 312


class LiveEncoder:
    """Mono float32 at 48 kHz in, one Opus packet per ``frame_ms`` out, in order.

    With ``record``, the same packets are also muxed into an Ogg file there as they come: the
    session's recording is exactly what the points were sent, written as it goes (a session of
    any length costs no memory), and finished by :meth:`flush`.
    """

    def __init__(
        self, frame_ms: int = 40, bitrate: int = DEFAULT_BITRATE, *, record: Path | None = None
    ) -> None:
        if frame_ms not in FRAME_MS:
            raise ValueError(f"frame_ms must be one of {FRAME_MS}, got {frame_ms}")
        self.frame = RATE * frame_ms // 1000
        options = {
            "frame_duration": str(frame_ms),
            "application": "voip",
            "vbr": "on",
            "fec": "1",
            "packet_loss": str(EXPECTED_LOSS_PCT),
        }
        self._container: Any = None
        self._stream: Any = None
        if record is not None:
            self._container = av.open(str(record), mode="w", format="ogg")
            self._stream = self._container.add_stream("libopus", rate=RATE, options=options)
            self._stream.bit_rate = bitrate
            self._stream.layout = "mono"
            self._stream.format = "flt"
            self._container.start_encoding()
            ctx: Any = self._stream.codec_context
        else:
            ctx = av.CodecContext.create("libopus", "w")
            ctx.sample_rate = RATE
            ctx.layout = "mono"
            ctx.format = "flt"
            ctx.bit_rate = bitrate
            ctx.time_base = Fraction(1, RATE)
            ctx.options = options
            ctx.open()
        self._ctx = ctx
        self._held = np.zeros(0, np.float32)
        self._pts = 0

    @property
    def delay(self) -> int:
        """Encoder look-ahead in samples: packet ``k`` holds input from ``k·frame - delay``."""
        return int(getattr(self._ctx, "initial_padding", 0) or OPUS_LOOKAHEAD)

    def _coded(self, frame: av.AudioFrame | None) -> list[bytes]:
        if self._stream is None:
            return [bytes(p) for p in self._ctx.encode(frame)]
        out = []
        for p in self._stream.encode(frame):
            out.append(bytes(p))
            self._container.mux(p)
        return out

    def encode(self, samples: np.ndarray) -> list[bytes]:
        """The packets completed by ``samples`` (float32 mono in [-1, 1])."""
        self._held = np.concatenate([self._held, samples.astype(np.float32, copy=False)])
        out: list[bytes] = []
        while len(self._held) >= self.frame:
            block, self._held = self._held[: self.frame], self._held[self.frame :]
            frame = av.AudioFrame.from_ndarray(block[np.newaxis, :], format="flt", layout="mono")
            frame.sample_rate = RATE
            frame.pts = self._pts
            self._pts += self.frame
            out.extend(self._coded(frame))
        return out

    def flush(self) -> list[bytes]:
        """The rest, padded with silence to whole frames, and what the encoder still holds;
        the recording is complete once this returns."""
        out: list[bytes] = []
        if len(self._held):
            out = self.encode(np.zeros(self.frame - len(self._held), np.float32))
        out += self._coded(None)
        self.close()
        return out

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


def _libopus() -> Any:
    name = ctypes.util.find_library("opus")
    candidates = [name] if name else []
    wheel_libs = Path(av.__file__).resolve().parent.parent / "av.libs"
    candidates += sorted(glob.glob(str(wheel_libs / "libopus*.so*")))
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_void_p]
        lib.opus_decode_float.restype = ctypes.c_int
        lib.opus_decode_float.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    raise OSError("libopus not found: install libopus0 (or PyAV's wheel, which carries it)")


class LiveDecoder:
    """libopus's decoder for one session: packets, concealment and FEC recovery, each giving
    exactly one frame of float32 samples."""

    def __init__(self, frame_ms: int) -> None:
        if frame_ms not in FRAME_MS:
            raise ValueError(f"frame_ms must be one of {FRAME_MS}, got {frame_ms}")
        self.frame = RATE * frame_ms // 1000
        self._lib = _libopus()
        err = ctypes.c_int()
        self._dec = self._lib.opus_decoder_create(RATE, 1, ctypes.byref(err))
        if err.value != 0 or not self._dec:
            raise OSError(f"opus_decoder_create failed ({err.value})")
        self._buf = np.zeros(self.frame, np.float32)

    def _run(self, data: bytes | None, fec: int) -> np.ndarray:
        n = self._lib.opus_decode_float(
            self._dec, data, len(data) if data else 0, self._buf.ctypes.data, self.frame, fec
        )
        if n < 0:
            raise ValueError(f"libopus could not decode the packet (error {n})")
        out = np.zeros(self.frame, np.float32)
        out[:n] = self._buf[:n]
        return out

    def decode(self, packet: bytes) -> np.ndarray:
        return self._run(packet, 0)

    def conceal(self) -> np.ndarray:
        """A lost frame, filled by libopus's packet-loss concealment."""
        return self._run(None, 0)

    def recover(self, next_packet: bytes) -> np.ndarray:
        """A lost frame, rebuilt from the FEC copy carried in the packet that follows it."""
        return self._run(next_packet, 1)

    def close(self) -> None:
        if self._dec:
            self._lib.opus_decoder_destroy(self._dec)
            self._dec = None

    def __del__(self) -> None:
        self.close()
