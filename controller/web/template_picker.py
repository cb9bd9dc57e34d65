"""The template picker on the compose and emergency pages: the stored templates of one kind, as
the page's script reads them (``static/templates.js`` asks for each blank and fills the text)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from controller.api.deps import get_db
from controller.broadcast import message_templates


def template_picker(request: Request, kind: str) -> list[dict[str, Any]]:
    with get_db(request).session() as s:
        return [t.picker() for t in message_templates.listed(s, kind)]
