""" "Đọc là": a text bulletin keeps the text as typed beside the words the engine said."""

from __future__ import annotations

import dataclasses

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


def test_a_spoken_bulletin_reads_as_its_typed_text_normalised(commune: Commune):
    offline = dataclasses.replace(commune.config.tts, engines=("espeak",))
    config = commune.config.model_copy(update={"tts": offline})
    path, report = speak(config, TEXT)
    path.unlink()
    bulletin = Bulletin(text=TEXT, processing_report=report.stored())
    assert reading_of(bulletin) == Reading(written=TEXT, spoken=read_as(config.tts, TEXT))


def test_a_recording_has_no_reading_and_an_old_speech_bulletin_shows_what_it_said():
    assert reading_of(Bulletin(processing_report={"loudness": {}})) is None
    old = Bulletin(processing_report={"tts": {"text": "bảy giờ", "engine": "espeak"}})
    assert reading_of(old) == Reading(written="", spoken="bảy giờ")
