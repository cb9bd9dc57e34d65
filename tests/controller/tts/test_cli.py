"""`loa say` as a user runs it (controller.tts.cli.main, real engines, real pipeline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.decode import decode_file
from controller.tts.cli import main


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, closed_port: int) -> None:
    monkeypatch.setenv("LOA_TTS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LOA_TTS_GTTS_URL", f"http://127.0.0.1:{closed_port}")


def test_say_to_ogg_and_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ogg, wav = tmp_path / "out" / "ban-tin.ogg", tmp_path / "ban-tin.wav"
    assert main(["Mực nước 3,5 m.", str(ogg), "--print-text"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "Mực nước ba phẩy năm mét."
    assert "gtts: unreachable" in err
    assert "via espeak" in err
    assert decode_file(ogg).codec == "opus"

    assert main(["Mực nước 3,5 m.", str(wav)]) == 0
    assert "(cached)" in capsys.readouterr().err
    assert decode_file(wav).codec.startswith("pcm")


def test_emergency_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "canh-bao.opus"
    args = ["UBND xã", str(out), "--emergency", "--voice", "vi-vn-x-central", "--no-normalize"]
    assert main([*args, "--print-text", "--engines", "espeak"]) == 0
    assert capsys.readouterr().out.strip() == "UBND xã"
    assert out.stat().st_size > 0


def test_text_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("HTX thông báo.\n"))
    assert main(["-", str(tmp_path / "a.mp3"), "--print-text", "--engines", "espeak"]) == 0
    assert capsys.readouterr().out.strip() == "hợp tác xã thông báo."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Xin chào", "out.flac"], "choose an output ending in .ogg"),
        (["  ", "out.ogg"], "the text is empty"),
        (["Xin chào", "out.ogg", "--engines", "sapi"], "unknown TTS engine"),
        (["Xin chào", "out.ogg", "--abbreviations", "/nonexistent.tsv"], "not found"),
    ],
)
def test_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args[1] = str(tmp_path / args[1])
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / args[1]).exists()


def test_unknown_voice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["Xin chào", "out.ogg", "--voice", "en"])
    assert exit_.value.code == 2
    assert "invalid choice: 'en'" in capsys.readouterr().err
