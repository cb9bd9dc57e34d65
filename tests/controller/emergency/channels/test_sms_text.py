"""GSM-7 and UCS-2 counting and splitting with Vietnamese text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controller.emergency.channels.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    PER_PART,
    SINGLE,
    encoding_of,
    fit,
    split,
    unaccented,
    weight,
)

ALERT = (
    "Bão số 5 đổ bộ vào đêm nay, gió giật cấp 12. Đề nghị bà con thôn Đông chằng chống nhà "
    "cửa, đưa người già và trẻ em đến nhà văn hóa thôn trước 17 giờ."
)


def test_vietnamese_needs_ucs2_and_plain_ascii_stays_gsm7():
    assert encoding_of("Bao so 5 do bo") == "gsm7"
    assert encoding_of("Bão số 5") == "ucs2"
    assert encoding_of("đ") == "ucs2"
    assert encoding_of("é à ü Ø {x} €") == "gsm7"  # in the basic or extension table


def test_extension_characters_cost_two_septets():
    assert weight("{}[]~|^\\€", "gsm7") == 18
    assert weight("abc", "gsm7") == 3


def test_a_character_beyond_the_bmp_costs_two_ucs2_units():
    assert weight("a🌀", "ucs2") == 3


def test_single_and_concatenated_limits():
    assert len(split("a" * 160).parts) == 1
    assert [len(p) for p in split("a" * 161).parts] == [153, 8]
    assert len(split("ă" * 70).parts) == 1
    assert [len(p) for p in split("ă" * 71).parts] == [67, 4]


def test_an_extension_character_is_never_split_from_its_escape():
    plan = split("a" * 152 + "€" + "b" * 10)
    assert plan.parts[0] == "a" * 152  # € (2 septets) does not fit in the 153rd septet
    assert plan.parts[1].startswith("€")


def test_a_vietnamese_alert_splits_between_words():
    plan = split(ALERT)
    assert plan.encoding == "ucs2"
    assert len(plan.parts) == 3
    assert "".join(plan.parts) == ALERT
    for part in plan.parts[:-1]:
        assert part.endswith(" ")  # cut after a word, not inside one


def test_unaccented_strips_every_mark_and_d_bar():
    assert unaccented("Bão số 5 đổ bộ, Đề nghị ĐỒNG BÀO") == "Bao so 5 do bo, De nghi DONG BAO"
    assert unaccented("ỳ ỹ ự ặ ầ ữ ở Ợ") == "y y u a a u o O"
    text = unaccented(ALERT)
    assert encoding_of(text) == "gsm7"
    assert len(split(text).parts) == 1  # one SMS instead of three


def test_fit_cuts_at_a_word_keeps_the_suffix_and_says_so():
    suffix = "\nHuy: http://x.vn/u/1"
    body, cut = fit(ALERT * 3, 2, suffix=suffix)
    assert cut
    assert body.endswith("…" + suffix)
    assert len(split(body).parts) == 2
    assert (ALERT * 3).startswith(body.removesuffix("…" + suffix))
    body, cut = fit(ALERT, 4, suffix=suffix)
    assert (body, cut) == (ALERT + suffix, False)


def test_fit_unaccented_stays_gsm7_when_it_cuts():
    body, cut = fit(ALERT * 2, 1, accents=False)
    assert cut
    assert body.endswith("...")
    assert encoding_of(body) == "gsm7"
    assert weight(body, "gsm7") <= 160


VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐ"
)
TEXT = st.text(
    alphabet=st.sampled_from(sorted(set(VIETNAMESE) | GSM7_BASIC | GSM7_EXTENSION | {"🌀", " "})),
    max_size=600,
)


@given(TEXT)
def test_parts_rejoin_to_the_text_and_each_fits_its_limit(text):
    plan = split(text)
    assert "".join(plan.parts) == text
    assert plan.encoding == encoding_of(text)
    limit = SINGLE[plan.encoding] if len(plan.parts) == 1 else PER_PART[plan.encoding]
    for part in plan.parts:
        assert 0 < weight(part, plan.encoding) <= limit


@given(TEXT, st.integers(min_value=1, max_value=4))
def test_fit_never_exceeds_the_parts_allowed(text, max_parts):
    body, cut = fit(text, max_parts, suffix=" Huy: x")
    assert len(split(body).parts) <= max_parts
    assert cut or body == text + " Huy: x"
