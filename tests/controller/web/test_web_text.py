"""Every UI text the pages ask for exists in both Vietnamese and English."""

from __future__ import annotations

import re

import pytest

from controller.web.i18n import LANGUAGES, LOCALE_DIR, catalogue

WEB = LOCALE_DIR.parent
# t('key'), t("key", ...), translate("key", lang), translate_in(lang, "key"): literal keys only;
# keys built at run time ('status.' ~ x) are checked by the browser tests that render them.
LITERAL = re.compile(
    r"""\b(?:t|translate)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']\s*(?:[,)]|if\b)"""
    r"""|\btranslate_in\(\s*\w+,\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']\s*(?:[,)]|if\b)"""
)


def used_keys() -> dict[str, str]:
    found: dict[str, str] = {}
    public = WEB.parent / "public"  # the listen-again pages use the same catalogue
    for path in [
        *WEB.rglob("*.html"),
        *WEB.rglob("*.py"),
        *WEB.parent.glob("*.py"),
        *public.rglob("*.html"),
        *public.rglob("*.py"),
    ]:
        for match in LITERAL.finditer(path.read_text(encoding="utf-8")):
            key = match.group(1) or match.group(2)
            found.setdefault(key, str(path.relative_to(WEB.parent)))
    return found


def test_every_literal_key_is_in_the_catalogue():
    keys = used_keys()
    assert len(keys) > 100  # the scan does find the pages' texts
    missing = {k: where for k, where in keys.items() if k not in catalogue()}
    assert not missing


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_text_is_empty_or_untranslated_placeholder(lang):
    for key, texts in catalogue().items():
        assert texts[lang].strip(), key
        # the same {placeholders} in both languages, or one of them would raise when formatted
        names = {n for text in texts.values() for n in re.findall(r"\{(\w+)\}", text)}
        assert set(re.findall(r"\{(\w+)\}", texts[lang])) == names, key


def test_vietnamese_is_really_vietnamese():
    """A sample of the main navigation reads in Vietnamese with its diacritics."""
    texts = catalogue()
    assert texts["nav.compose"]["vi"] == "Soạn tin"
    assert texts["nav.emergency"]["vi"] == "KHẨN CẤP"
    diacritics = re.compile(
        r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]"
    )
    with_marks = sum(bool(diacritics.search(t["vi"].lower())) for t in texts.values())
    assert with_marks / len(texts) > 0.8


def test_a_recording_too_long_is_named_as_too_long_not_too_large():
    from controller.config import ControllerConfig
    from controller.errors import TooLargeError
    from controller.web.pages_bulletins import pipeline_error

    config = ControllerConfig(max_audio_seconds=1800, max_upload_bytes=50 * 2**20)
    too_long = TooLargeError("audio.too_long", "long.opus: …", "long.opus: …", field="file")
    assert pipeline_error(too_long, "file", "vi", config) == {
        "file": "Bản ghi quá dài: tối đa 30 phút."
    }
    too_big = TooLargeError("upload.too_large", "big", "lớn", field="file")
    assert pipeline_error(too_big, "record", "en", config) == {
        "recording": "The file is too large: 50 MB at most."
    }


LEVELS = ("emergency", "priority", "normal", "filler")


def test_each_priority_has_one_word_everywhere():
    """One catalogue entry per priority (``priority.<level>``), used by every page, the CSV
    and the reasons alike: no second spelling under another key."""
    texts = catalogue()
    keyed = [k for k in texts if re.search(rf"(?:^|\.)priority\.(?:{'|'.join(LEVELS)})$", k)]
    assert sorted(keyed) == sorted(f"priority.{level}" for level in LEVELS)
    words = {texts[f"priority.{level}"]["vi"] for level in LEVELS}
    again = [
        k
        for k, v in texts.items()
        if v["vi"].strip(" .").lower() in words and not k.startswith(("priority.", "nav."))
    ]
    assert not again
    sources = [*WEB.rglob("*.html"), *WEB.rglob("*.py"), *WEB.rglob("*.js")]
    spelled = [p.name for p in sources if re.search(r"\w+\.priority\.['{]", p.read_text("utf-8"))]
    assert not spelled  # e.g. t('programme.priority.' ~ x): a second catalogue of levels


def test_sent_and_played_mean_what_they_say():
    """ "đã gửi": handed to the points; "đã phát": played. The report's tile uses the very word
    of the rows it counts."""
    texts = catalogue()
    assert texts["bulletin.status.sent"]["vi"] == "đã gửi"
    for status in ("queued", "acknowledged", "received", "ready", "started"):
        assert "đã phát" not in texts[f"delivery.status.{status}"]["vi"], status
    assert texts["reports.sum.played"]["vi"] == texts["delivery.status.finished"]["vi"]
    assert texts["reports.sum.playing"]["vi"] == texts["delivery.status.started"]["vi"]
    assert texts["reports.sum.stopped"]["vi"] == texts["delivery.status.cancelled"]["vi"]
