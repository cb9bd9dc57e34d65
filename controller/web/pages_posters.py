"""Downloading a village's or a point's QR poster (PDF or PNG, A4 or A5) from the web app."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from controller.api.deps import ConfigDep, DbDep
from controller.db import Database
from controller.public import posters
from controller.web.deps import Viewer, allowed

router = APIRouter(include_in_schema=False)
MEDIA = {"pdf": "application/pdf", "png": "image/png"}


def download(
    db: Database, name: str, facts_of: Callable[[Session], posters.PosterFacts], size: str, fmt: str
) -> Response:
    """The poster ``facts_of`` finds, as a file named after ``name``."""
    size, fmt = posters.checked(size, fmt)
    with db.session() as s:
        facts = facts_of(s)
    data = posters.draw(facts, size).encoded(fmt)
    name = re.sub(r"[^A-Za-z0-9_-]", "-", name)  # it goes into a header
    return Response(
        data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="ap-phich-{name}-{size}.{fmt}"'},
    )


@router.get("/zones/{zone_code}/poster")
def zone_poster(
    db: DbDep,
    config: ConfigDep,
    zone_code: str,
    _viewer: Annotated[Viewer, allowed("posters")],
    size: str = "a4",
    format: str = "pdf",
) -> Response:
    return download(db, zone_code, lambda s: posters.zone_facts(s, config, zone_code), size, format)


@router.get("/nodes/{node_id}/poster")
def node_poster(
    db: DbDep,
    config: ConfigDep,
    node_id: str,
    _viewer: Annotated[Viewer, allowed("posters")],
    size: str = "a4",
    format: str = "pdf",
) -> Response:
    return download(db, node_id, lambda s: posters.node_facts(s, config, node_id), size, format)
