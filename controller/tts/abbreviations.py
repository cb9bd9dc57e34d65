"""The abbreviation table: a TSV shipped with the package, plus an optional user TSV on top."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

_PACKAGE_TABLE = "abbreviations.tsv"


def parse_table(text: str, *, source: str) -> dict[str, str]:
    """Lines of ``ABBREVIATION<TAB>expansion``; ``#`` starts a comment line; blank lines skipped.
    A malformed line is a ValueError naming the file and line, so a typo never goes unnoticed."""
    table: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in raw.split("\t")]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(
                f"{source}:{number}: expected 'ABBREVIATION<TAB>expansion', got {raw!r}"
            )
        table[parts[0]] = parts[1]
    return table


@lru_cache(maxsize=1)
def _package_table() -> Mapping[str, str]:
    text = resources.files(__package__).joinpath(_PACKAGE_TABLE).read_text("utf-8")
    return parse_table(text, source=_PACKAGE_TABLE)


def load_table(user_path: Path | None = None) -> dict[str, str]:
    """The shipped table with the user's file merged on top (user lines win)."""
    table = dict(_package_table())
    if user_path is not None:
        if not user_path.is_file():
            raise ValueError(f"abbreviation file not found: {user_path}")
        table.update(parse_table(user_path.read_text("utf-8"), source=str(user_path)))
    return table


def compile_table(table: Mapping[str, str]) -> re.Pattern[str]:
    """One alternation, longest key first so "UBMTTQ" wins over "MTTQ" and "PCTT-TKCN" over
    "PCTT"; whole words only (a letter or digit on either side means it is part of a word)."""
    keys = sorted(table, key=len, reverse=True)
    alternation = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
