"""Server-rendered pages: one Jinja2 environment with the UI text and local-time helpers."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from controller import notifications
from controller.api.deps import get_config, get_db
from controller.web.deps import Viewer, language
from controller.web.formatting import duration, local_time
from controller.web.i18n import translate
from controller.web.points import project

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


templates.env.filters["local_time"] = local_time
templates.env.filters["duration"] = duration
templates.env.globals["project_points"] = project


def page(
    request: Request,
    viewer: Viewer | None,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = viewer.lang if viewer else language(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "lang": lang,
            "t": partial(translate_in, lang),
            "csrf": viewer.csrf if viewer else context.pop("csrf", ""),
            # Typed accessor, not a parameter: error handlers render pages without Depends.
            "commune": get_config(request).commune_name,
            "unread": unread(request, viewer),
            **context,
        },
        status_code=status_code,
    )


def translate_in(lang: str, key: str, **values: object) -> str:
    return translate(key, lang, **values)


def unread(request: Request, viewer: Viewer | None) -> int:
    """The viewer's unread notifications, for the badge every page shows."""
    if viewer is None:
        return 0
    with get_db(request).session() as s:
        return notifications.unread_count(s, viewer.user.id)
