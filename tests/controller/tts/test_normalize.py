"""The normaliser against commune text: exact expected words, sentence by sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.tts.abbreviations import load_table
from controller.tts.normalize import Normalizer, normalize
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


def test_decimals() -> None:
    assert decimal_words("12", "4") == "mười hai phẩy bốn"
    assert decimal_words("3", "25") == "ba phẩy hai mươi lăm"
    assert decimal_words("0", "05") == "không phẩy không năm"


COMMUNE_TEXT = [
    (
        "UBND xã thông báo: ngày 20/11/2026 lúc 15h30 họp HĐND tại HTX.",
        "ủy ban nhân dân xã thông báo: ngày hai mươi tháng mười một năm hai nghìn không trăm"
        " hai mươi sáu lúc mười lăm giờ ba mươi phút họp hội đồng nhân dân tại hợp tác xã.",
    ),
    (
        "Kỷ niệm 20/11/2026.",
        "Kỷ niệm ngày hai mươi tháng mười một năm hai nghìn không trăm hai mươi sáu.",
    ),
    ("Tổ chức vào ngày 20/11.", "Tổ chức vào ngày hai mươi tháng mười một."),
    ("Nhiệt độ 23-28 độ.", "Nhiệt độ hai mươi ba đến hai mươi tám độ."),
    ("Nhiệt độ từ 23-28°C.", "Nhiệt độ từ hai mươi ba đến hai mươi tám độ xê."),
    (
        "Mực nước sông lúc 7h đạt 12,4 m, trên BĐ2 0,3 m.",
        "Mực nước sông lúc bảy giờ đạt mười hai phẩy bốn mét, trên báo động hai không phẩy ba mét.",
    ),
    ("Mực nước 3,5 m.", "Mực nước ba phẩy năm mét."),
    (
        "Gió 60 km/h, mưa 150 mm, độ ẩm 85%.",
        "Gió sáu mươi ki lô mét trên giờ, mưa một trăm năm mươi mi li mét,"
        " độ ẩm tám mươi lăm phần trăm.",
    ),
    (
        "Xả 1.200 m3/s; hỗ trợ 1.000.000 đồng mỗi hộ.",
        "Xả một nghìn hai trăm mét khối trên giây; hỗ trợ một triệu đồng mỗi hộ.",
    ),
    (
        "Liên hệ 0912 345 678 hoặc 0912345678.",
        "Liên hệ không chín một hai, ba bốn năm, sáu bảy tám"
        " hoặc không chín một hai, ba bốn năm, sáu bảy tám.",
    ),
    ("Có cháy gọi 114.", "Có cháy gọi một một bốn."),
    ("Họp lúc 15:30 thứ 4.", "Họp lúc mười lăm giờ ba mươi phút thứ tư."),
    (
        "Từ 7h-11h30 ngày 5/6.",
        "Từ bảy giờ đến mười một giờ ba mươi phút ngày năm tháng sáu.",
    ),
    ("Kế hoạch tháng 11/2026.", "Kế hoạch tháng mười một năm hai nghìn không trăm hai mươi sáu."),
    (
        "Gieo cấy 2,5 ha, bón 120 kg phân.",
        "Gieo cấy hai phẩy năm héc ta, bón một trăm hai mươi ki lô gam phân.",
    ),
    (
        "Học sinh THCS, THPT; BCH PCTT-TKCN xã; CAX và UBMTTQ.",
        "Học sinh trung học cơ sở, trung học phổ thông; ban chỉ huy phòng chống thiên tai"
        " và tìm kiếm cứu nạn xã; công an xã và ủy ban mặt trận tổ quốc.",
    ),
    (
        "Phát triển KT-XH, CĐS, thu BHYT và BHXH.",
        "Phát triển kinh tế xã hội, chuyển đổi số, thu bảo hiểm y tế và bảo hiểm xã hội.",
    ),
    ("Còn 3 ngày.", "Còn ba ngày."),
    ("Sóng cao 3.5 m.", "Sóng cao ba phẩy năm mét."),
    (
        "Năm học 2025-2026.",
        "Năm học hai nghìn không trăm hai mươi lăm đến hai nghìn không trăm hai mươi sáu.",
    ),
    ("Hỗ trợ 113 hộ.", "Hỗ trợ một trăm mười ba hộ."),
]


@pytest.mark.parametrize(("text", "spoken"), COMMUNE_TEXT)
def test_commune_sentences(text: str, spoken: str) -> None:
    assert NORM(text) == spoken


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
