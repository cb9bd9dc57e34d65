"""The processing report in words: plain advice for the broadcaster, the figures folded away
for a technician."""

from __future__ import annotations

import re
from typing import Any

import pytest

from controller.web.report_words import describe

TECHNICAL = re.compile(r"LUFS|\bdB|dBTP|espeak|gtts", re.IGNORECASE)


def report(lufs_in: float, lufs_out: float, **extra: Any) -> dict[str, Any]:
    signal = {"duration_s": 12.0, "true_peak_dbtp": -1.5, "snr_db": 30.0, "clipped_share": 0.0}
    return {
        "input": {**signal, "integrated_lufs": lufs_in},
        "output": {**signal, "integrated_lufs": lufs_out},
        "target_lufs": -16.0,
        "steps": ["highpass", "denoise", "trim", "level", "compress", "normalize"],
        "warnings": ["the output is 6.0 LU below the -16 LUFS target"],
        **extra,
    }


@pytest.mark.parametrize(
    ("given", "advice"),
    [
        (report(-30.0, -22.0), "Ghi âm quá nhỏ, hãy nói gần máy hơn."),  # missed the target
        (report(-45.0, -16.0), "Ghi âm quá nhỏ, hãy nói gần máy hơn."),  # raised a lot
        (report(-8.0, -10.0), "Ghi âm quá to, hãy để máy xa miệng hơn một chút."),
    ],
)
def test_a_missed_loudness_target_is_told_in_words(given, advice):
    assert advice in describe(given, "vi").plain


def test_clipping_is_told_in_words():
    clipped = report(-14.0, -16.0)
    clipped["input"]["clipped_share"] = 0.02
    assert "Ghi âm bị rè vì quá to, hãy để máy xa miệng hơn một chút." in (
        describe(clipped, "vi").plain
    )


def test_a_good_recording_gets_no_advice():
    plain = describe(report(-20.0, -16.0), "vi").plain
    assert not [line for line in plain if "hãy" in line]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_figures_stay_in_the_technical_fold(lang):
    spoken = report(-30.0, -16.2, tts={"engine": "espeak", "voice": "vi"})
    words = describe(spoken, lang)
    assert words.plain
    assert not [line for line in words.plain if TECHNICAL.search(line)]
    technical = " ".join(words.technical)
    assert "LUFS" in technical
    assert "espeak" in technical
    assert "6.0 LU below" in technical  # the pipeline's own remark, kept for the technician
    if lang == "vi":
        assert "−30 LUFS" in technical  # decimal comma / true minus, like every page number
