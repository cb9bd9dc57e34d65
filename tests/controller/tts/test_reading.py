"""Each reading rule at its edges: what it must read, and what it must leave alone.

The table of commune sentences (test_commune_sentences.py) shows the rules together; these
pin the borders one rule at a time, so a failure names the rule that moved.
"""

from __future__ import annotations

import pytest

from controller.tts.normalize import Normalizer
from controller.tts.reading.common import CONTEXT_CHARS
from controller.tts.reading.roman import roman_value

NORM = Normalizer()


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        # phones: digit by digit in the written groups, long runs in the groups people say
        ("Gọi 0912-345-678.", "Gọi không chín một hai, ba bốn năm, sáu bảy tám."),
        ("SĐT 02033812456", "số điện thoại không hai không ba, ba tám một hai, bốn năm sáu"),
        ("Tổng đài 1800.1091", "Tổng đài một tám không không, một không chín một"),
        ("Hỗ trợ 115 hộ.", "Hỗ trợ một trăm mười lăm hộ."),  # a quantity, not a number to dial
        ("Cấp cứu: 115", "Cấp cứu: một một năm"),
        ("Gọi 113, 114 hoặc 115.", "Gọi một một ba, một một bốn hoặc một một năm."),
        ("Xã có 2.500.000 dân.", "Xã có hai triệu năm trăm nghìn dân."),  # dots: an amount
        # money
        ("Giá 50.000đ/người.", "Giá năm mươi nghìn đồng một người."),
        ("Vé 20.000 ₫.", "Vé hai mươi nghìn đồng."),
        ("Thưởng 3tr.", "Thưởng ba triệu đồng."),
        ("Tài trợ $500 và 1.000 USD.", "Tài trợ năm trăm đô la Mỹ và một nghìn đô la Mỹ."),
        ("Mua 5 kg/hộ/tuần.", "Mua năm ki lô gam một hộ mỗi tuần."),
        ("Ông/bà có mặt.", "Ông bà có mặt."),
        ("Anh Hùng - 0987654321", "Anh Hùng, không chín tám bảy, sáu năm bốn, ba hai một"),
        # legal references
        ("Theo 15/QĐ-UBND.", "Theo quyết định số mười lăm của ủy ban nhân dân."),
        ("Số 07/TB-UBND.", "Số bảy thông báo của ủy ban nhân dân."),
        ("Số 12/TTLT-BTC-BNV", "Số mười hai thông tư liên tịch của bộ tài chính và bộ nội vụ"),
        # Roman numerals only after a counting word, only I/V/X
        ("Nhóm I và mục C.", "Nhóm I và mục C."),
        ("Cấp IV, cấp vi.", "Cấp bốn, cấp vi."),
        ("Thế kỷ XXI.", "Thế kỷ hai mươi mốt."),
        ("Nghị quyết Đại hội XIII.", "Nghị quyết Đại hội mười ba."),
        ("Trên BĐ3.", "Trên báo động ba."),
        # dates and mùng
        ("ngày 10/10", "ngày mùng mười tháng mười"),
        ("ngày 11/10", "ngày mười một tháng mười"),
        ("mồng 3/2", "mồng ba tháng hai"),
        ("05-03-2026", "ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi sáu"),
        ("ngày 1 tháng 4", "ngày mùng một tháng tư"),
        ("mã 35/13", "mã ba mươi lăm trên mười ba"),  # neither a date nor a share
        ("Nghỉ lễ 30/4 - 1/5.", "Nghỉ lễ từ ba mươi tháng tư đến mùng một tháng năm."),
        ("Từ 12-14/9 mưa.", "Từ mười hai đến mười bốn tháng chín mưa."),
        ("ngày 1-2/3", "từ ngày mùng một đến mùng hai tháng ba"),
        ("Ngày Nhà giáo, ngày 20-11.", "Ngày Nhà giáo, ngày hai mươi tháng mười một."),
        ("mùng 5-7 Tết", "mùng năm đến mùng bảy Tết"),
        # fractions: a share where the words say so, a date otherwise
        ("Chiếm 1/2.", "Chiếm một phần hai."),
        ("Họp 1/2.", "Họp mùng một tháng hai."),
        ("Còn 2/5 số hộ.", "Còn hai phần năm số hộ."),
        # times and ranges
        ("Từ 7h-11h.", "Từ bảy giờ đến mười một giờ."),
        ("7 - 11h", "từ bảy giờ đến mười một giờ"),
        ("Giai đoạn 1990-2000.", "Giai đoạn một nghìn chín trăm chín mươi đến hai nghìn."),
        ("Tổ 3-4.", "Tổ ba đến bốn."),
        ("Gió cấp 6-7.", "Gió cấp sáu, cấp bảy."),
        ("Từ -3 đến -1°C.", "Từ âm ba đến âm một độ C."),
        ("Thứ 2-CN.", "từ thứ hai đến chủ nhật."),
        # symbols with meaning; decoration and bullets gone
        ("Tỷ lệ ≥ 90%.", "Tỷ lệ lớn hơn hoặc bằng chín mươi phần trăm."),
        ("Kích thước 2x3 m.", "Kích thước hai nhân ba mét."),
        ("- Thời gian: 7h\n- Địa điểm: nhà văn hóa", "Thời gian: bảy giờ. Địa điểm: nhà văn hóa"),
        ("THÔNG BÁO\r\nVề việc cắt điện", "THÔNG BÁO. Về việc cắt điện"),
        ("=====\n🔔🔔 Khẩn!!! 👉 Sơ tán ngay", "Khẩn! Sơ tán ngay"),
        ("Chờ... rồi đi.", "Chờ, rồi đi."),
        # web and e-mail addresses
        ("Nộp tại dichvucong.gov.vn.", "Nộp tại dichvucong chấm gov chấm vn."),
        ("https://www.xa.gov.vn/thong-bao", "xa chấm gov chấm vn gạch chéo thong bao"),
        ("Gửi ubnd.xa@gmail.com", "Gửi ubnd chấm xa a còng gmail chấm com"),
        # places, roads, abbreviations
        ("Ở P.", "Ở P."),  # no name after it: not "phường"
        ("Km15+200 QL 18A", "ki lô mét số mười lăm cộng hai trăm quốc lộ mười tám A"),
        ("HTXA và UBNDX", "HTXA và UBNDX"),
        # numbers: lẻ/linh, mốt, tư, lăm; ordinals
        ("2.005 hộ, 21 thôn", "hai nghìn không trăm linh năm hộ, hai mươi mốt thôn"),
        ("24 tổ, 105 hộ, 15 xã", "hai mươi tư tổ, một trăm linh năm hộ, mười lăm xã"),
        ("Lần thứ 1, T7.", "Lần thứ nhất, thứ bảy."),
    ],
)  # fmt: skip
def test_rule_edges(written: str, spoken: str) -> None:
    assert NORM(written) == spoken


def test_roman_values() -> None:
    assert [roman_value(r) for r in ("I", "IV", "IX", "XIV", "XXXIX")] == [1, 4, 9, 14, 39]


def test_a_pasted_run_of_digits_is_read_not_refused() -> None:
    # Python refuses int() of more than 4,300 digits; a pasted account number must still read.
    spoken = NORM("Mã " + "1" * 5000)
    assert spoken.startswith("Mã một một một")
    assert not any(ch.isdigit() for ch in spoken)


def test_context_is_looked_for_nearby_only() -> None:
    # "gọi" far before a short number does not make it a number to dial: rules read a bounded
    # window around each match, which keeps long texts linear (deploy/SECURITY.md).
    far = "gọi " + "x" * CONTEXT_CHARS + " 113 hộ"
    assert NORM(far).endswith("một trăm mười ba hộ")
    assert NORM("gọi 113").endswith("một một ba")
