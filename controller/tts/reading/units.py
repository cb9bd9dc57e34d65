"""Units of measure, read only right after a number ("12,4 m", "50%", "23-28°C", "22kV").

A compound unit keeps the "trên" of technical bulletins ("m³/s" "mét khối trên giây", "km/h"
"ki lô mét trên giờ"); an everyday "/người" after an amount is "một người" (:mod:`.money`).
"""

from __future__ import annotations

import re

UNITS: tuple[tuple[str, str], ...] = (
    ("km/h", "ki lô mét trên giờ"),
    ("m3/s", "mét khối trên giây"),
    ("m³/s", "mét khối trên giây"),
    ("mm/h", "mi li mét trên giờ"),
    ("m/s", "mét trên giây"),
    ("km2", "ki lô mét vuông"),
    ("km²", "ki lô mét vuông"),
    ("m2", "mét vuông"),
    ("m²", "mét vuông"),
    ("m3", "mét khối"),
    ("m³", "mét khối"),
    ("km", "ki lô mét"),
    ("cm", "xen ti mét"),
    ("mm", "mi li mét"),
    ("m", "mét"),
    ("kg", "ki lô gam"),
    ("mg", "mi li gam"),
    ("g", "gam"),
    ("ha", "héc ta"),
    ("ml", "mi li lít"),
    ("kWh", "ki lô oát giờ"),
    ("kVA", "ki lô vôn am pe"),
    ("kV", "ki lô vôn"),
    ("kW", "ki lô oát"),
    ("MW", "mê ga oát"),
    ("W", "oát"),
    ("V", "vôn"),
    ("°C", "độ C"),
    ("ºC", "độ C"),
    ("oC", "độ C"),
    ("℃", "độ C"),
    ("°", "độ"),
    ("%", "phần trăm"),
)
_WORDS = dict(UNITS)
# After a digit (spaces allowed), never inside a word; "m" before "/người" is still a unit.
_UNIT_RE = re.compile(r"(?<=\d)\s*(" + "|".join(re.escape(u) for u, _ in UNITS) + r")(?![\w²³])")


def unit_words(symbol: str) -> str:
    """ "kg" → "ki lô gam"; a word that is no unit symbol is returned as it is."""
    return _WORDS.get(symbol, symbol)


def read_units(text: str) -> str:
    """Unit symbols after numbers, in words."""
    return _UNIT_RE.sub(lambda m: " " + _WORDS[m[1]], text)
