"""Vietnamese mobile numbers: written any way a villager writes them, stored as E.164.

0912 345 678, 0912.345.678, +84 912 345 678, 84912345678 and (84) 912-345-678 are all
+84912345678. Only mobile numbers (03x, 05x, 07x, 08x, 09x after the 0) take an SMS; a landline
(02x) or anything else is refused with the reason.
"""

from __future__ import annotations

import re

from controller.errors import InvalidInputError

SEPARATORS = re.compile(r"[\s.\-()]")
MOBILE = re.compile(r"[35789]\d{8}")


def normalise(raw: str) -> str:
    """The number as +84XXXXXXXXX, or InvalidInputError saying why not."""
    digits = SEPARATORS.sub("", raw.strip())
    for prefix in ("+84", "0084", "84", "0"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 9:
            national = digits[len(prefix) :]
            break
    else:
        raise refused(raw, "a Vietnamese mobile number has 10 digits, e.g. 0912 345 678")
    if not national.isdigit():
        raise refused(raw, "a phone number has only digits")
    if not MOBILE.fullmatch(national):
        raise refused(raw, "not a mobile number (it must start 03, 05, 07, 08 or 09)")
    return "+84" + national


def refused(raw: str, why: str) -> InvalidInputError:
    return InvalidInputError(
        "phone.invalid",
        f"{raw[:40]!r} is not a valid number: {why}",
        "Số điện thoại không hợp lệ: cần số di động Việt Nam 10 chữ số, ví dụ 0912 345 678.",
        field="phone",
    )


def masked(e164: str) -> str:
    """What non-admins see: the network prefix and the last two digits (+8491*****78)."""
    return e164[:5] + "*" * (len(e164) - 7) + e164[-2:]


def national(e164: str) -> str:
    """0912345678: how a gateway that wants the national form takes it."""
    return "0" + e164[3:]
