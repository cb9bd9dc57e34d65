"""Legal document numbers, read as the news reads them.

"Nghị định số 100/2019/NĐ-CP" → "Nghị định số một trăm năm hai nghìn không trăm mười chín của
chính phủ": the number, "năm" and the year when there is one, then "của" and the issuer. The
document type in the code (NĐ, QĐ, CT, TT...) is said only when the text has not already named
it: "theo 15/QĐ-UBND" → "theo quyết định số mười lăm của ủy ban nhân dân", while "Quyết định
15/QĐ-UBND" says "quyết định" once. A code alone ("QĐ-TTg") is "quyết định của thủ tướng chính
phủ". When the sentence names the issuer itself ("15/QĐ-UBND ngày 2/1 của UBND huyện") it is
not said twice; a drafting unit ("123/UBND-VP") is not said.
"""

from __future__ import annotations

import re

from controller.tts.reading.common import after, before, cardinal, ends_with

TYPES = {
    "NĐ": "nghị định",
    "QĐ": "quyết định",
    "CT": "chỉ thị",
    "TT": "thông tư",
    "TTLT": "thông tư liên tịch",
    "NQ": "nghị quyết",
    "KH": "kế hoạch",
    "CV": "công văn",
    "TB": "thông báo",
    "BC": "báo cáo",
    "HD": "hướng dẫn",
    "TTr": "tờ trình",
    "CĐ": "công điện",
    "GM": "giấy mời",
    "KL": "kết luận",
    "PA": "phương án",
    "CTr": "chương trình",
}
ISSUERS = {
    "CP": "chính phủ",
    "TTg": "thủ tướng chính phủ",
    "QH": "quốc hội",
    "UBTVQH": "ủy ban thường vụ quốc hội",
    "UBND": "ủy ban nhân dân",
    "HĐND": "hội đồng nhân dân",
    "UBMTTQ": "ủy ban mặt trận tổ quốc",
    "BTC": "bộ tài chính",
    "BYT": "bộ y tế",
    "BCA": "bộ công an",
    "BQP": "bộ quốc phòng",
    "BNV": "bộ nội vụ",
    "BXD": "bộ xây dựng",
    "BCT": "bộ công thương",
    "BGDĐT": "bộ giáo dục và đào tạo",
    "BNNPTNT": "bộ nông nghiệp và phát triển nông thôn",
    "BNNMT": "bộ nông nghiệp và môi trường",
    "BTNMT": "bộ tài nguyên và môi trường",
    "BLĐTBXH": "bộ lao động thương binh và xã hội",
    "BGTVT": "bộ giao thông vận tải",
    "BTTTT": "bộ thông tin và truyền thông",
    "NHNN": "ngân hàng nhà nước",
    "VPCP": "văn phòng chính phủ",
    "TW": "trung ương",
    "TƯ": "trung ương",
    "TU": "tỉnh ủy",
    "HU": "huyện ủy",
    "ĐU": "đảng ủy",
    "BCĐ": "ban chỉ đạo",
    "BCH": "ban chỉ huy",
    "VP": "văn phòng",
    "CAX": "công an xã",
    "SYT": "sở y tế",
    "STC": "sở tài chính",
}
_PART = r"[A-ZĐ][A-Za-zĐđ]*\d*"
_CODE = rf"{_PART}(?:-{_PART})*"
_REF = re.compile(
    rf"(?<![\w/.,])(?P<num>\d+)(?:/(?P<year>(?:19|20)\d\d))?/(?P<code>{_CODE})(?![\w-])"
)
_TYPES_ALT = "|".join(sorted(TYPES, key=len, reverse=True))
_ISSUER_ALT = "|".join(sorted(ISSUERS, key=len, reverse=True))
_BARE = re.compile(
    rf"(?<![\w/-])(?P<type>{_TYPES_ALT})(?P<issuers>(?:-(?:{_ISSUER_ALT}))+)(?![\w-])"
)


def _issuer(part: str) -> str:
    """ "UBND" → "ủy ban nhân dân"; "QH14" → "quốc hội khóa mười bốn"; unknown: as written."""
    letters, digits = re.fullmatch(r"(\D+)(\d*)", part).groups()  # type: ignore[union-attr]
    words = ISSUERS.get(letters, letters)
    if digits:
        words += f" khóa {cardinal(digits)}" if letters == "QH" else f" {digits}"
    return words


def _issuers(parts: list[str]) -> str:
    """Joint issuers ("TTLT-BTC-BNV") joined with "và"; a drafting unit the table does not know
    ("QĐ-UBND-VP") is not said. Nothing known: the parts as written, for the engine."""
    known = [p for p in parts if re.sub(r"\d+$", "", p) in ISSUERS]
    return " và ".join(_issuer(p) for p in known or parts)


def _reference(match: re.Match[str]) -> str:
    parts = match["code"].split("-")
    kind = TYPES.get(parts[0])
    # Without a type, the first part is the issuer and the rest its drafting unit ("UBND-VP").
    issuers = parts[1:] if kind else parts[:1]
    said = cardinal(match["num"])
    if match["year"]:
        said += f" năm {cardinal(match['year'])}"
    # "15/QĐ-UBND ngày 2/1 của UBND huyện": the text names the issuer itself; say it once.
    clause = re.split(r"[,.;:!?]", after(match), maxsplit=1)[0]
    if issuers and not re.search(r"(?<!\w)của(?!\w)", clause):
        said += " của " + _issuers(issuers)
    said_before = before(match)
    if kind is None or ends_with(said_before, kind, f"{kind} số"):
        return said
    if ends_with(said_before, "số"):
        return f"{said} {kind}" if not issuers else said.replace(" của ", f" {kind} của ", 1)
    return f"{kind} số {said}"


def _bare(match: re.Match[str]) -> str:
    return f"{TYPES[match['type']]} của " + _issuers(match["issuers"].strip("-").split("-"))


def read_legal_references(text: str) -> str:
    """Document numbers ("15/QĐ-UBND", "100/2019/NĐ-CP") and bare codes ("QĐ-TTg")."""
    text = _REF.sub(_reference, text)
    return _BARE.sub(_bare, text)
