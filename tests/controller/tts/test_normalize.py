"""The normaliser's numbers and its abbreviation table; commune sentences are in
test_commune_sentences.py, each rule's edge cases in test_reading.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.tts.abbreviations import load_table
from controller.tts.normalize import Normalizer, dialect_of, normalize
from controller.tts.numbers import decimal_words, integer_words

NORM = Normalizer()


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (101, "một trăm linh một"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (1005, "một nghìn không trăm linh năm"),
        (2026, "hai nghìn không trăm hai mươi sáu"),
        (15_000, "mười lăm nghìn"),
        (2_500_000, "hai triệu năm trăm nghìn"),
        (1_000_005, "một triệu không trăm linh năm"),
        (3_200_000_000, "ba tỷ hai trăm triệu"),
    ],
)
def test_integers(n: int, words: str) -> None:
    assert integer_words(n) == words


def test_southern_numbers() -> None:
    south = Normalizer(dialect="south")
    assert south("Có 2.105 hộ.") == "Có hai ngàn một trăm lẻ năm hộ."
    assert NORM("Có 2.105 hộ.") == "Có hai nghìn một trăm linh năm hộ."  # the dialect does not leak
    assert dialect_of("vi-vn-x-south") == "south"
    assert dialect_of("vi") == dialect_of("vi-vn-x-central") == "north"
    with pytest.raises(ValueError, match="unknown dialect 'west'"):
        Normalizer(dialect="west")  # type: ignore[arg-type]


def test_decimals() -> None:
    assert decimal_words("12", "4") == "mười hai phẩy bốn"
    assert decimal_words("3", "25") == "ba phẩy hai mươi lăm"
    assert decimal_words("0", "05") == "không phẩy không năm"


def test_no_doubled_ngay() -> None:
    assert "ngày ngày" not in NORM("Ngày 20/11/2026 và ngày 21/11/2026.")
    assert NORM("ngày 20/11/2026").count("ngày") == 1


def test_invalid_date_left_as_numbers() -> None:
    # 35/13 is no date: read the numbers, do not invent a "ngày".
    assert "ngày" not in NORM("mã 35/13/2026")


def test_no_digit_is_left_unread() -> None:
    assert not any(ch.isdigit() for ch in NORM("Mã A3.2.1, tổ 05, 1/2 số hộ, lúc 25:99."))


def test_abbreviations_only_as_whole_words() -> None:
    assert NORM("HTXA") == "HTXA"
    assert NORM("UBND.") == "ủy ban nhân dân."


def test_user_table_extends_and_overrides(tmp_path: Path) -> None:
    user = tmp_path / "xa-toi.tsv"
    user.write_text(
        "# our commune's own\nHND\thội nông dân\nHTX\thợp tác xã nông nghiệp\n", "utf-8"
    )
    assert normalize("HND và HTX", abbreviations=user) == "hội nông dân và hợp tác xã nông nghiệp"
    assert load_table(user)["UBND"] == "ủy ban nhân dân"  # the shipped table is still there
    assert normalize("HND") == "HND"  # and the shipped table alone does not know it


def test_bad_user_table_is_a_clear_error(tmp_path: Path) -> None:
    user = tmp_path / "bad.tsv"
    user.write_text("HND hội nông dân\n", "utf-8")  # spaces, not a tab
    with pytest.raises(ValueError, match=r"bad\.tsv:1: expected 'ABBREVIATION<TAB>expansion'"):
        load_table(user)
    with pytest.raises(ValueError, match="not found"):
        load_table(tmp_path / "missing.tsv")
