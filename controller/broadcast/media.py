"""The audio of a broadcast: an uploaded recording saved and processed, or a text spoken.

The domain takes a ``Recording`` (a binary file object and its file name), not a web
framework's upload: the API and the pages pass ``upload.file`` and ``upload.filename``.
"""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path
from typing import BinaryIO, NamedTuple

from controller.broadcast.audio_report import AudioReport
from controller.broadcast.ingest import process_upload
from controller.config import ControllerConfig, DenoiseChoice
from controller.errors import (
    InvalidInputError,
    TooLargeError,
    UnsupportedMediaError,
    storage_full,
)


class Recording(NamedTuple):
    """An uploaded recording: its bytes, read once from where they are, and the name it came
    with (shown to the user in messages, and its suffix kept)."""

    file: BinaryIO
    name: str


def save_upload(file: BinaryIO, filename: str, limit: int, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix[:10]
    try:
        fd, name = tempfile.mkstemp(suffix=suffix, dir=into)
    except OSError as exc:
        if _disk_full(exc):
            raise storage_full() from exc
        raise
    path = Path(name)
    try:
        return _spool(file, fd, path, limit)
    except OSError as exc:  # the disk filled mid-write: no half-saved upload stays behind
        path.unlink(missing_ok=True)
        if _disk_full(exc):
            raise storage_full() from exc
        raise


def _disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _spool(file: BinaryIO, fd: int, path: Path, limit: int) -> Path:
    size = 0
    with open(fd, "wb") as out:
        while block := file.read(1 << 20):
            size += len(block)
            if size > limit:
                out.close()
                path.unlink()
                mib = limit // 2**20
                raise TooLargeError(
                    "upload.too_large",
                    f"recording is larger than {mib} MiB",
                    f"Bản ghi âm lớn hơn {mib} MiB",
                    field="file",
                )
            out.write(block)
    if size == 0:  # a tap on the record button sends this: a recording of no length
        path.unlink()
        raise InvalidInputError(
            "audio.too_short",
            "the uploaded file is empty: nothing to broadcast",
            "Tệp tải lên trống: không có gì để phát",
            field="file",
        )
    return path


def processed_upload(
    config: ControllerConfig, file: BinaryIO, filename: str, denoise: DenoiseChoice | None = None
) -> tuple[Path, AudioReport]:
    """Save, check and run the audio pipeline on an upload (with the ``denoise`` chosen, None:
    the controller's); the temp upload is always removed."""
    from audio.config import MIN_SPEECH_S
    from audio.errors import (
        AudioError,
        TooLongAudioError,
        TooShortAudioError,
        UnsupportedFormatError,
    )

    path = save_upload(file, filename, config.max_upload_bytes, config.data_dir / "tmp")
    name = filename or "the recording"

    def message(exc: AudioError) -> str:  # the user's file name, never our temporary copy
        return str(exc).replace(str(path), name).replace(path.name, name)

    try:
        return process_upload(config, path, denoise)
    except OSError as exc:  # process_upload removes its half-written output itself
        if _disk_full(exc):
            raise storage_full() from exc
        raise
    except UnsupportedFormatError as exc:
        said = message(exc)
        raise UnsupportedMediaError(
            "audio.unsupported", said, f"Tệp không phải âm thanh dùng được ({said})", field="file"
        ) from None
    except TooLongAudioError as exc:
        said = message(exc)
        raise TooLargeError(
            "audio.too_long", said, f"Bản ghi âm dài quá giới hạn ({said})", field="file"
        ) from None
    except TooShortAudioError as exc:
        said = message(exc)
        raise InvalidInputError(
            "audio.too_short",
            said,
            f"Bản ghi âm quá ngắn: cần ít nhất {MIN_SPEECH_S:g} giây tiếng nói",
            field="file",
        ) from None
    except AudioError as exc:
        said = message(exc)
        raise InvalidInputError(
            "audio.unusable", said, f"Không dùng được âm thanh trong tệp ({said})", field="file"
        ) from None
    finally:
        path.unlink(missing_ok=True)


def duration_of(report: AudioReport) -> float:
    if report.duration_s <= 0:
        raise InvalidInputError(
            "audio.silent",
            "the recording has no audible content after processing",
            "Sau khi xử lý, bản ghi âm không còn tiếng nghe được",
            field="file",
        )
    return report.duration_s


def audio_for(
    config: ControllerConfig,
    recording: Recording | None,
    text: str,
    voice: str,
    *,
    emergency: bool,
    denoise: DenoiseChoice | None = None,
) -> tuple[Path, AudioReport, str]:
    """The processed audio of a recording (cleaned with ``denoise``, None: the controller's
    setting) or, if none is sent, of a text spoken by TTS; returns it with its report and the
    uploaded file's name ("" for speech)."""
    from controller.broadcast.speech import speak

    has_file = recording is not None
    if has_file == bool(text.strip()) and not (emergency and has_file):
        raise InvalidInputError(
            "audio.source",
            "send either a recording (file) or a text for speech",
            "Hãy gửi một bản ghi âm hoặc một văn bản để đọc",
            field="file",
        )
    if recording is not None:
        if emergency and denoise is None:
            denoise = "standard"  # an alert never waits on the slower denoiser unless asked
        encoded, report = processed_upload(config, recording.file, recording.name, denoise)
        return encoded, report, recording.name
    encoded, report = speak(config, text.strip(), voice=voice, emergency=emergency)
    return encoded, report, ""
