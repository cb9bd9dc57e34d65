"""synthesize(): engine fallback, emergencies, the audio pipeline and the cache, for real
(espeak-ng, the audio pipeline, a local socket standing in for an unreachable Google)."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from pathlib import Path

import pytest

from audio.decode import decode_file
from controller.config import ControllerConfig
from controller.tts import NoEngineError, TtsSettings, synthesize

BULLETIN = "UBND xã thông báo: ngày 20/11 lúc 15h30 họp tại HTX."


def test_google_unreachable_falls_back_to_espeak(settings: TtsSettings) -> None:
    result = synthesize(BULLETIN, settings=settings)

    assert result.engine == "espeak"
    assert not result.cache_hit
    gtts, espeak = result.attempts
    assert (gtts.engine, gtts.ok) == ("gtts", False)
    assert "connection" in gtts.reason
    assert "refused" in gtts.reason.lower()
    assert (espeak.engine, espeak.ok) == ("espeak", True)
    # What aired is processed speech: Ogg/Opus at the pipeline's loudness target.
    decoded = decode_file(result.path)
    assert result.path.suffix == ".ogg"
    assert decoded.codec == "opus"
    assert decoded.duration_s > 1.0
    assert result.processing.output.integrated_lufs == pytest.approx(-16.0, abs=1.0)
    assert result.text.startswith("ủy ban nhân dân xã thông báo: ngày hai mươi tháng mười một")


def test_slow_google_gives_up_within_the_timeout(
    settings: TtsSettings, silent_server: socket.socket
) -> None:
    port = silent_server.getsockname()[1]
    slow = dataclasses.replace(
        settings, gtts_base_url=f"http://127.0.0.1:{port}", online_timeout_s=0.5
    )
    started = time.monotonic()
    result = synthesize("Mực nước 3,5 m.", settings=slow)

    assert result.engine == "espeak"
    assert "timed out" in result.attempts[0].reason
    assert result.attempts[0].seconds < 0.5 + 1.0  # loose: it gave up, it did not hang
    assert time.monotonic() - started < 30


def test_emergency_never_touches_the_network(
    settings: TtsSettings, silent_server: socket.socket
) -> None:
    port = silent_server.getsockname()[1]
    watched = dataclasses.replace(settings, gtts_base_url=f"http://127.0.0.1:{port}")
    result = synthesize("Bão số 3 đổ bộ.", settings=watched, emergency=True)

    assert result.engine == "espeak"
    assert result.attempts[0].engine == "gtts"
    assert result.attempts[0].reason.startswith("skipped: emergency")
    silent_server.setblocking(False)
    with pytest.raises(BlockingIOError):
        silent_server.accept()  # nobody ever connected


def test_emergency_adds_the_offline_engine(settings: TtsSettings) -> None:
    result = synthesize("Sơ tán ngay.", engines=["gtts"], settings=settings, emergency=True)
    assert result.engine == "espeak"


def test_second_call_is_a_cache_hit(settings: TtsSettings) -> None:
    first = synthesize(BULLETIN, settings=settings)
    # With espeak-ng gone, only the cache can answer.
    no_espeak = dataclasses.replace(settings, espeak_binary="/nonexistent/espeak-ng")
    second = synthesize(BULLETIN, settings=no_espeak)

    assert second.cache_hit
    assert second.engine == "espeak"
    assert second.path == first.path
    assert second.processing == first.processing
    sidecar = json.loads(first.path.with_suffix(".json").read_text("utf-8"))
    assert sidecar["engine"] == "espeak"
    assert sidecar["voice"] == "vi"
    assert sidecar["text"] == first.text
    assert [p.suffix for p in sorted(settings.cache_dir.iterdir())] == [".json", ".ogg"]


def test_voice_is_part_of_the_cache_key(settings: TtsSettings) -> None:
    north = synthesize("Xin chào 1.005 hộ.", settings=settings, engines=["espeak"])
    south = synthesize(
        "Xin chào 1.005 hộ.", settings=settings, engines=["espeak"], voice="vi-vn-x-south"
    )
    assert north.path != south.path
    assert not south.cache_hit
    # The Southern voice reads numbers as the South says them.
    assert "một nghìn không trăm linh năm" in north.text
    assert "một ngàn không trăm lẻ năm" in south.text


def test_user_abbreviations_reach_the_speech(settings: TtsSettings, tmp_path: Path) -> None:
    table = tmp_path / "xa.tsv"
    table.write_text("HND\thội nông dân\n", "utf-8")
    result = synthesize(
        "HND xã họp.",
        settings=dataclasses.replace(settings, abbreviations_path=table),
        engines=["espeak"],
    )
    assert result.text == "hội nông dân xã họp."


def test_no_normalize_speaks_as_written(settings: TtsSettings) -> None:
    result = synthesize("UBND  họp", settings=settings, engines=["espeak"], normalize=False)
    assert result.text == "UBND họp"


def test_piper_without_a_model_is_skipped(settings: TtsSettings) -> None:
    result = synthesize("Xin chào.", settings=settings, engines=["piper", "espeak"])
    assert result.engine == "espeak"
    assert result.attempts[0].reason.startswith("not configured")


def test_every_engine_failing_says_why(settings: TtsSettings) -> None:
    broken = dataclasses.replace(settings, espeak_binary="/nonexistent/espeak-ng")
    with pytest.raises(NoEngineError, match=r"gtts: unreachable.*espeak: .*not installed") as err:
        synthesize("Xin chào.", settings=broken)
    assert [a.engine for a in err.value.attempts] == ["gtts", "espeak"]
    assert not settings.cache_dir.exists() or not any(settings.cache_dir.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "   \n "}, "empty"),
        ({"voice": "en"}, "unknown voice 'en'"),
        ({"engines": ["festival"]}, "unknown TTS engine"),
        ({"engines": []}, "unknown TTS engine"),
    ],
)
def test_bad_input_is_a_clear_error(
    settings: TtsSettings, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"text": "Xin chào.", "settings": settings, **kwargs}
    text = args.pop("text")
    assert isinstance(text, str)
    with pytest.raises(ValueError, match=message):
        synthesize(text, **args)  # type: ignore[arg-type]
    assert not settings.cache_dir.exists()


def test_settings_reject_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown TTS engine"):
        TtsSettings(cache_dir=tmp_path, engines=("gtts", "sapi"))
    env = {"LOA_TTS_ENGINES": "espeak, gtts", "LOA_TTS_CACHE_DIR": str(tmp_path)}
    loaded = ControllerConfig.load(None, env).tts
    assert loaded.engines == ("espeak", "gtts")
    assert loaded.cache_dir == tmp_path
