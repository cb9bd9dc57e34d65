""" "Đọc là": a text bulletin keeps the text as typed beside the words the engine said."""

from __future__ import annotations

import dataclasses

import pytest

from controller.broadcast.reading import Reading, read_as, reading_of
from controller.broadcast.speech import speak
from controller.models import Bulletin
from tests.controller.commune import Commune

TEXT = "Họp dân lúc 7 giờ ngày 12/3/2026, gọi 0203.3812.456"


def test_the_preview_speaks_every_number_in_words(commune: Commune):
    spoken = read_as(commune.config.tts, TEXT)
    assert spoken
    assert not any(c.isdigit() for c in spoken)
    assert read_as(commune.config.tts, "   ") == ""


def test_the_preview_uses_the_voice_s_own_number_words(commune: Commune):
    """The Southern voice says "ngàn" and "lẻ": the preview says what that voice will say."""
    text = "Hỗ trợ 105 hộ, mỗi hộ 2.000.000 đồng"
    north = read_as(commune.config.tts, text, "vi")
    south = read_as(commune.config.tts, text, "vi-vn-x-south")
    assert "một trăm linh năm" in north
    assert "nghìn" in north or "triệu" in north
    assert "một trăm lẻ năm" in south
    assert "nghìn" not in south
    with pytest.raises(ValueError, match="unknown voice"):
        read_as(commune.config.tts, text, "en")


def test_a_spoken_bulletin_reads_as_its_typed_text_normalised(commune: Commune):
    offline = dataclasses.replace(commune.config.tts, engines=("espeak",))
    config = commune.config.model_copy(update={"tts": offline})
    path, report = speak(config, TEXT)
    path.unlink()
    bulletin = Bulletin(text=TEXT, processing_report=report.stored())
    assert reading_of(bulletin) == Reading(written=TEXT, spoken=read_as(config.tts, TEXT))
    # the Southern voice: what it said is what its preview showed
    path, report = speak(config, TEXT, voice="vi-vn-x-south")
    path.unlink()
    said = reading_of(Bulletin(text=TEXT, processing_report=report.stored()))
    assert said is not None
    assert said.spoken == read_as(config.tts, TEXT, "vi-vn-x-south")
    assert said.spoken != read_as(config.tts, TEXT, "vi")  # "ngàn", not "nghìn"


def test_a_recording_has_no_reading_and_an_old_speech_bulletin_shows_what_it_said():
    assert reading_of(Bulletin(processing_report={"loudness": {}})) is None
    old = Bulletin(processing_report={"tts": {"text": "bảy giờ", "engine": "espeak"}})
    assert reading_of(old) == Reading(written="", spoken="bảy giờ")
