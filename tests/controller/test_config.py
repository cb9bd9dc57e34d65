"""The one configuration loader: file, LOA_* variables (lists and sections included), errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.config import ControllerConfig
from controller.tts.cli import main as say

FEEDS = ["https://tinh.example/cap.xml", "https://kttv.example/alerts"]


def test_a_list_from_the_environment_as_json_or_as_a_plain_list() -> None:
    as_json = ControllerConfig.load(None, {"LOA_CAP_FEEDS": json.dumps(FEEDS)})
    plain = ControllerConfig.load(None, {"LOA_CAP_FEEDS": " , ".join(FEEDS)})
    assert as_json.cap_feeds == FEEDS
    assert plain.cap_feeds == FEEDS


def test_the_environment_overrides_the_file_and_keywords_override_both(tmp_path: Path) -> None:
    path = tmp_path / "controller.json"
    path.write_text(
        json.dumps({"http_port": 8000, "commune_name": "Xã Tệp", "tts": {"gtts_tld": "vn"}})
    )
    env = {"LOA_HTTP_PORT": "9000", "LOA_TTS_ENGINES": "espeak", "LOA_COMMUNE_NAME": ""}
    config = ControllerConfig.load(path, env, http_host="0.0.0.0")
    assert (config.http_port, config.http_host) == (9000, "0.0.0.0")
    assert config.commune_name == "Xã Tệp"  # an empty variable counts as unset
    assert config.tts.engines == ("espeak",)
    assert config.tts.gtts_tld == "vn"  # the file's other tts keys stay


def test_every_bad_value_is_named_with_its_source(tmp_path: Path) -> None:
    path = tmp_path / "controller.json"
    path.write_text(json.dumps({"cap_poll_interval_s": 1, "tts": {"engines": ["sapi"]}}))
    env = {
        "LOA_HTTP_PORT": "tám nghìn",
        "LOA_CAP_FEEDS": '["https://a", ',
        "LOA_TTS_ONLINE_TIMEOUT": "-1",
    }
    with pytest.raises(SystemExit) as exit_:
        ControllerConfig.load(path, env)
    message = str(exit_.value)
    lines = message.splitlines()
    assert lines[0] == "invalid controller configuration:"
    assert len(lines) == 6, message
    assert any(
        line.strip().startswith("LOA_CAP_FEEDS (environment): not valid JSON") for line in lines
    )
    assert any("LOA_HTTP_PORT (environment):" in line and "'tám nghìn'" in line for line in lines)
    assert any(
        "LOA_TTS_ONLINE_TIMEOUT (environment): Input should be greater than 0" in line
        for line in lines
    )
    assert f"cap_poll_interval_s in {path}: Input should be greater than or equal to 5" in message
    assert f"tts.engines in {path}: unknown TTS engine(s) ['sapi']" in message


def test_a_dict_field_or_an_unknown_key_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "controller.json"
    path.write_text(json.dumps({"tts": {"voice": "vi"}, "colour": "blue"}))
    with pytest.raises(SystemExit) as exit_:
        ControllerConfig.load(path, {})
    assert f"tts.voice in {path}:" in str(exit_.value)
    assert f"colour in {path}: Extra inputs are not permitted" in str(exit_.value)


def test_tts_settings_come_from_the_one_config(tmp_path: Path) -> None:
    env = {
        "LOA_TTS_ENGINES": "espeak,GTTS",
        "LOA_TTS_ONLINE_TIMEOUT": "1.5",
        "LOA_TTS_ABBREVIATIONS": str(tmp_path / "xa.tsv"),
        "LOA_TTS_GTTS_URL": "http://127.0.0.1:9",
        "LOA_TTS_PIPER_MODEL": str(tmp_path / "vi.onnx"),
    }
    config = ControllerConfig.load(None, env, data_dir=tmp_path)
    assert config.tts.engines == ("espeak", "gtts")
    assert config.tts.online_timeout_s == 1.5
    assert config.tts.abbreviations_path == tmp_path / "xa.tsv"
    assert config.tts.gtts_base_url == "http://127.0.0.1:9"
    assert config.tts.piper_model == tmp_path / "vi.onnx"
    # The controller's speech cache lives with its data unless LOA_TTS_CACHE_DIR says otherwise.
    assert config.tts.cache_dir == tmp_path / "tts-cache"
    moved = ControllerConfig.load(
        None, {"LOA_TTS_CACHE_DIR": str(tmp_path / "c")}, data_dir=tmp_path
    )
    assert moved.tts.cache_dir == tmp_path / "c"


def test_a_saved_config_loads_back_the_same(tmp_path: Path) -> None:
    config = ControllerConfig.load(None, {"LOA_CAP_FEEDS": FEEDS[0]}, data_dir=tmp_path)
    config.save(tmp_path / "controller.json")
    assert ControllerConfig.load(tmp_path / "controller.json", {}) == config


def test_loa_say_names_a_bad_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOA_TTS_ENGINES", "festival")
    assert say(["Xin chào.", str(tmp_path / "out.ogg")]) == 2
    assert (
        "LOA_TTS_ENGINES (environment): unknown TTS engine(s) ['festival']"
        in capsys.readouterr().err
    )


def test_the_cap_sender_defaults_to_the_public_host_and_refuses_what_cap_cannot_carry() -> None:
    assert ControllerConfig.load(None, {}).cap_sender_id == "127.0.0.1"
    public = {"LOA_PUBLIC_URL": "https://loa.xa-mau.vn/"}
    assert ControllerConfig.load(None, public).cap_sender_id == "loa.xa-mau.vn"
    given = {**public, "LOA_CAP_SENDER": "canhbao@xa-mau.gov.vn"}
    assert ControllerConfig.load(None, given).cap_sender_id == "canhbao@xa-mau.gov.vn"
    for bad in ("UBND xã Mẫu", "a,b", "<x>", "a&b"):
        with pytest.raises(SystemExit, match=r"LOA_CAP_SENDER .*no spaces, commas"):
            ControllerConfig.load(None, {"LOA_CAP_SENDER": bad})
