"""CSV for spreadsheets, where a cell that looks like a formula is run as one.

Names typed by people (points, villages, bulletins) reach the CSV as they were typed, so a point
named ``=HYPERLINK(...)`` would become a live link, or worse, in the official's spreadsheet.
OWASP's advice for CSV injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading apostrophe, which Excel, LibreOffice and Google Sheets show as
text. A plain number is left alone, so that values stay numbers (``-3`` is not a formula).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")  # a decimal point, or a Vietnamese decimal comma


def cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text, never evaluates it."""
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV (CRLF line ends) with every cell made safe by ``cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()
