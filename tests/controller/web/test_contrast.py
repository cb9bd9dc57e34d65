"""Every badge colour pair in the style sheets reads at WCAG AA (4.5:1), computed from the CSS
itself: a status that no page happens to show in the browser sweep is checked too."""

from __future__ import annotations

import re

import pytest

from controller.web.i18n import LOCALE_DIR

STATIC = LOCALE_DIR.parent / "static"
RULE = re.compile(r"([^{}]+)\{[^}]*?background: (#[0-9a-f]{6}); color: ([^;]+);")
VARIABLE = re.compile(r"--([a-z]+): (#[0-9a-f]{6})")


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def badge_pairs() -> list[tuple[str, str, str]]:
    variables = dict(VARIABLE.findall((STATIC / "app.css").read_text()))
    pairs = []
    for sheet in sorted(STATIC.glob("*.css")):
        for selector, background, colour in RULE.findall(sheet.read_text()):
            if not re.search(r"badge|status-|state-|priority-", selector):
                continue
            name = re.fullmatch(r"var\(--([a-z]+)\)", colour.strip())
            fg = variables[name.group(1)] if name else colour.strip()
            pairs.append((f"{sheet.name}: {selector.strip()}", fg, background))
    return pairs


def test_the_sheets_have_badge_colours():
    assert len(badge_pairs()) >= 8


@pytest.mark.parametrize(("where", "fg", "bg"), badge_pairs())
def test_badge_text_reads_at_4_5_to_1(where, fg, bg):
    assert contrast(fg, bg) >= 4.5, f"{where}: {contrast(fg, bg):.2f}"
