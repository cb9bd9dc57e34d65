"""The processing report says in plain words what the denoiser did (audio/report.py), and the
web app's words for a bulletin (controller/web/report_words.py) show it."""

from __future__ import annotations

import numpy as np

from audio.pipeline import process
from audio.report import done_words
from controller.web.report_words import describe
from tests.audio.test_denoise import speech_like
from tests.audio.test_denoise_treatments import SR, machine, mains


def test_each_code_has_plain_vietnamese_and_english() -> None:
    done = done_words(["hum_60hz", "wind", "noise", "left_speech_like", "transients"])
    assert [d.code for d in done] == ["hum_60hz", "wind", "noise", "left_speech_like"]
    assert done[0].vi == "Đã lọc tiếng ù điện (60 Hz)."
    assert done[0].en == "Mains hum (60 Hz) filtered out."
    assert "tiếng gió" in done[1].vi
    assert done[3].vi.startswith("Để nguyên: tiếng ồn giống giọng nói")
    assert done[3].en.startswith("Left as it is")
    (gentle,) = done_words(["babble_gentle"])
    assert gentle.vi.startswith("Chỉ giảm nhẹ tiếng ồn: xung quanh có nhiều người nói chuyện")
    assert gentle.en.startswith("Noise reduced gently")


def test_the_report_of_a_humming_recording_says_so() -> None:
    x = np.concatenate([np.zeros(SR // 2, np.float32), speech_like(6.0)])
    x = x + mains(x.shape[0], 50.0, 0.05)
    _, _, report = process(x, SR)
    assert report.done[0].code == "hum_50hz"
    words = describe(report.model_dump(mode="json"), "vi")
    assert "Đã lọc tiếng ù điện (50 Hz)." in words.plain
    assert "Mains hum (50 Hz) filtered out." in describe(report.model_dump(mode="json"), "en").plain


def test_the_report_of_a_recording_beside_a_pump_says_so() -> None:
    x = np.concatenate([np.zeros(SR // 2, np.float32), speech_like(6.0)])
    x = x + machine(x.shape[0], 115.0, 0.05)
    _, _, report = process(x, SR)
    assert report.done[0].code == "machine_115hz"
    words = describe(report.model_dump(mode="json"), "vi").plain
    assert "Đã lọc tiếng máy chạy đều (115 Hz: máy bơm, máy xay, máy phát điện)." in words
    english = describe(report.model_dump(mode="json"), "en").plain
    assert "A steady machine's drone (115 Hz: pump, mill, generator) filtered out." in english


def test_a_report_without_plain_words_still_reads() -> None:
    """Reports stored before the denoiser said what it did keep their one sentence."""
    old = {"steps": ["highpass", "denoise"], "input": {"snr_db": 10.0}, "output": {}}
    assert describe(old, "en").plain == ["Background noise filtered."]
    left = {**old, "done": [d.model_dump() for d in done_words(["left_speech_like"])]}
    assert describe(left, "vi").plain[0].startswith("Để nguyên")
