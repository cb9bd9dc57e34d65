"""Load and save a Programme as JSON; bad input raises ValueError saying what and where."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from schedules.model import Programme

EXAMPLES_DIR = Path(__file__).parent / "examples"


def parse_programme(text: str, source: str = "<string>") -> Programme:
    """Parse JSON text into a validated Programme."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    try:
        return Programme.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"{source}: invalid programme: {problems}") from exc


def load_programme(path: str | Path) -> Programme:
    """Read and validate a programme file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{p}: cannot read programme file: {exc}") from exc
    return parse_programme(text, str(p))


def dump_programme(programme: Programme) -> str:
    """JSON text for a programme (UTF-8, Vietnamese kept readable, stable order)."""
    return json.dumps(programme.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


def save_programme(programme: Programme, path: str | Path) -> None:
    """Write a programme file atomically (write a sibling then rename), so a crash never
    leaves half a programme behind."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(dump_programme(programme), encoding="utf-8")
    tmp.replace(p)
