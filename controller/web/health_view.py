"""A point's health in words a technician understands: the figures of its last report, and a
sentence for each warning that says what is wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from controller.models import Node, NodeHealth
from controller.nodes import health as rules
from controller.web.formatting import local_time
from controller.web.i18n import translate

_UNITS = ("B", "KB", "MB", "GB", "TB")


def _say(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``, as the templates have it."""
    return lambda key, **values: translate(key, lang, **values)


def size(n: int, lang: str) -> str:
    """``1,2 GB`` in Vietnamese, ``1.2 GB`` in English (decimal units, as cards are sold)."""
    value, unit = float(n), 0
    while value >= 1000 and unit < len(_UNITS) - 1:
        value, unit = value / 1000, unit + 1
    text = f"{value:.0f}" if value >= 100 or unit == 0 else f"{value:.1f}"
    return f"{text.replace('.', ',') if lang == 'vi' else text} {_UNITS[unit]}"


def uptime(seconds: int, lang: str) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    key = "health.uptime.days" if days else "health.uptime.hours"
    return _say(lang)(key, d=days, h=hours, m=rest // 60)


def health_view(s: Session, node_id: str, lang: str) -> dict[str, Any]:
    """What the point's page shows: ``warnings`` (sentences), ``facts`` (label, value) and
    when it was measured; ``reported`` is False for an agent that never sent a report."""
    t = _say(lang)
    node = s.get(Node, node_id)
    row = s.get(NodeHealth, node_id)
    found = rules.warnings_of(node, row) if node is not None else []
    return {
        "reported": row is not None,
        "warnings": [t(f"health.warn.{w.code}", **_words(w.values, lang)) for w in found],
        "facts": facts(row, lang) if row is not None else [],
        "measured": local_time(row.reported_at, "%H:%M %d/%m") if row is not None else "",
    }


def _words(values: dict[str, str | int | float], lang: str) -> dict[str, str | int | float]:
    return {k: size(int(v), lang) if k == "free" else v for k, v in values.items()}


def facts(h: NodeHealth, lang: str) -> list[tuple[str, str]]:
    t = _say(lang)
    unknown = t("health.unknown")
    shown = [
        ("health.uptime", uptime(h.uptime_s, lang) if h.uptime_s is not None else unknown),
        ("health.temp", f"{h.cpu_temp_c:.0f} °C" if h.cpu_temp_c is not None else unknown),
        ("health.disk", _part_of(h.disk_free_bytes, h.disk_total_bytes, lang) or unknown),
        (
            "health.memory",
            _part_of(h.memory_available_bytes, h.memory_total_bytes, lang) or unknown,
        ),
        ("health.clock", _clock(h, lang)),
    ]
    if h.cell_signal_pct is not None:
        tech = f" ({h.cell_technology.upper()})" if h.cell_technology else ""
        shown.append(("health.cell", f"{h.cell_signal_pct}%{tech}"))
    return [(t(label), value) for label, value in shown]


def _part_of(part: int | None, whole: int | None, lang: str) -> str:
    if part is None:
        return ""
    if not whole:
        return size(part, lang)
    return translate(
        "health.part_of",
        lang,
        part=size(part, lang),
        whole=size(whole, lang),
        pct=round(100 * part / whole),
    )


def _clock(h: NodeHealth, lang: str) -> str:
    t = _say(lang)
    if h.clock_synced is None:
        return t("health.unknown")
    text = t("health.clock.synced" if h.clock_synced else "health.clock.unsynced")
    if h.clock_offset_ms is not None:
        text += t("health.clock.offset", ms=f"{h.clock_offset_ms:+.0f}")
    return text
