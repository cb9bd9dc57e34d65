"""Speech engines behind one protocol: gTTS (online), espeak-ng (offline), Piper (optional).

Each engine writes one raw audio file and returns its path, or raises TtsError saying why not.
The caller (synth.py) decides the order and what to do on failure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")


class TtsError(RuntimeError):
    """An engine could not produce speech; the message is the reason shown to the user."""


@runtime_checkable
class TtsEngine(Protocol):
    name: str
    online: bool  # skipped entirely for an emergency

    def unavailable(self) -> str | None:
        """Why this engine cannot run here (not installed, not configured), or None."""

    def synthesize(self, text: str, voice: str, out_path: Path, timeout_s: float) -> Path:
        """Write speech for ``text`` next to ``out_path`` (the engine picks the suffix) and
        return the file written. Raises TtsError with a reason."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class GttsEngine:
    """Google Translate's speech through gTTS, lang "vi". Every voice maps to the one Google
    voice. The request runs in a daemon thread with a hard deadline, because requests' own
    timeout does not cover DNS resolution, and an unreachable Google must cost seconds only."""

    name = "gtts"
    online = True

    def __init__(self, *, tld: str = "com", base_url: str | None = None) -> None:
        # base_url ("http://host:port") replaces https://translate.google.<tld>: for a local
        # relay, and for tests that need Google "unreachable" without touching the network.
        self.tld = tld
        self.base_url = base_url.rstrip("/") if base_url else None

    def unavailable(self) -> str | None:
        try:
            import gtts  # noqa: F401 -- only checking that the extra is installed
        except ImportError:
            return "gTTS is not installed (pip install 'loalang[controller]')"
        return None

    def synthesize(self, text: str, voice: str, out_path: Path, timeout_s: float) -> Path:
        """``timeout_s`` bounds the wait for each piece of audio, not the whole text: gTTS sends
        a long bulletin as many ~100-character requests, and a working but distant Google must
        not be dropped for a long text, while an unreachable one fails within ``timeout_s``."""
        target = out_path.with_suffix(".mp3")
        part = out_path.with_suffix(".mp3.part")
        outcome: dict[str, BaseException | None] = {}
        last_progress = [time.monotonic()]

        def work() -> None:
            try:
                tts = _make_gtts(text, tld=self.tld, base_url=self.base_url, timeout_s=timeout_s)
                with part.open("wb") as fp:
                    for chunk in tts.stream():
                        fp.write(chunk)
                        last_progress[0] = time.monotonic()
                outcome["error"] = None
            except BaseException as exc:  # reported to the caller's thread below
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="gtts", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            if worker.is_alive() and time.monotonic() - last_progress[0] > timeout_s:
                # The thread is abandoned; it writes only to ``part``, which nobody reads.
                raise TtsError(f"timed out: no answer within the {timeout_s:g} s timeout")
        error = outcome.get("error")
        if error is not None:
            raise TtsError(_network_reason(error, timeout_s))
        if not part.is_file() or part.stat().st_size == 0:
            raise TtsError("gTTS returned no audio")
        part.replace(target)
        return target


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"'()]+)|(Failed to resolve '[^']+')")


def _network_reason(error: BaseException, timeout_s: float) -> str:
    """A short reason from gTTS's error and the requests error underneath it: gTTS's own
    message ("Probable cause: Unknown") hides whether Google was unreachable or slow."""
    cause = error.__cause__ or error.__context__ or error
    kind = type(cause).__name__
    if "Timeout" in kind:
        return f"timed out: no answer within the {timeout_s:g} s timeout ({kind})"
    if "ConnectionError" in kind:
        found = _ERRNO.search(str(cause))
        detail = (found.group(1) or found.group(2)).strip() if found else _first_line(cause)
        return f"unreachable (connection error): {detail}"
    return _first_line(error)


def _make_gtts(text: str, *, tld: str, base_url: str | None, timeout_s: float) -> Any:
    from gtts import gTTS

    # Connect quickly or not at all; reading may take the rest of the budget.
    timeout = (min(timeout_s, 2.0), timeout_s)
    if base_url is None:
        return gTTS(text, lang="vi", tld=tld, lang_check=False, timeout=timeout)

    class _Routed(gTTS):  # type: ignore[misc]  # gTTS ships no type hints
        def _prepare_requests(self) -> list[Any]:
            prepared: list[Any] = super()._prepare_requests()
            for request in prepared:
                path = urlsplit(request.url).path
                request.prepare_url(f"{base_url}{path}", None)
            return prepared

    return _Routed(text, lang="vi", tld=tld, lang_check=False, timeout=timeout)


class EspeakEngine:
    """espeak-ng: offline, always installed by `make run`/`make test`; robotic but reliable."""

    name = "espeak"
    online = False

    def __init__(self, *, binary: str = "espeak-ng", words_per_minute: int = 150) -> None:
        self.binary = binary
        self.words_per_minute = words_per_minute

    def unavailable(self) -> str | None:
        if shutil.which(self.binary) is None:
            return f"{self.binary} is not installed (apt install espeak-ng)"
        return None

    def synthesize(self, text: str, voice: str, out_path: Path, timeout_s: float) -> Path:
        reason = self.unavailable()
        if reason:
            raise TtsError(reason)
        target = out_path.with_suffix(".wav")
        # Text on stdin (-b 1: UTF-8), so nothing in it can be taken for an option.
        cmd = [self.binary, "-v", voice, "-s", str(self.words_per_minute), "-b", "1"]
        cmd += ["-w", str(target), "--stdin"]
        _run(cmd, text, timeout_s, self.binary)
        return _check_output(target, self.binary)


class PiperEngine:
    """Piper neural TTS with a local `.onnx` voice model. Runs only when a model is configured
    and present; never downloads one."""

    name = "piper"
    online = False

    def __init__(self, *, model: Path | None, binary: str = "piper") -> None:
        self.model = model
        self.binary = binary

    def unavailable(self) -> str | None:
        if self.model is None:
            return "not configured (no voice model set)"
        if not self.model.is_file():
            return f"voice model not found: {self.model}"
        if shutil.which(self.binary) is None:
            return f"{self.binary} is not installed"
        return None

    def synthesize(self, text: str, voice: str, out_path: Path, timeout_s: float) -> Path:
        reason = self.unavailable()
        if reason:
            raise TtsError(reason)
        target = out_path.with_suffix(".wav")
        cmd = [self.binary, "--model", str(self.model), "--output_file", str(target)]
        _run(cmd, text, timeout_s, self.binary)
        return _check_output(target, self.binary)


def _run(cmd: list[str], text: str, timeout_s: float, binary: str) -> None:
    try:
        proc = subprocess.run(
            cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise TtsError(f"{binary} took longer than the {timeout_s:g} s timeout") from None
    except OSError as exc:
        raise TtsError(f"{binary} could not start: {exc}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise TtsError(f"{binary} failed: {err.splitlines()[-1]}")


def _check_output(target: Path, binary: str) -> Path:
    if not target.is_file() or target.stat().st_size <= 44:  # a bare WAV header is no speech
        raise TtsError(f"{binary} wrote no audio")
    return target
