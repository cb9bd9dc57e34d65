"""Downloading a village's or a point's QR poster (PDF or PNG, A4 or A5) from the web app."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from controller.api.deps import ConfigDep, DbDep
from controller.public import posters
from controller.web.deps import Viewer, allowed

router = APIRouter(include_in_schema=False)
MEDIA = {"pdf": "application/pdf", "png": "image/png"}


def download(facts: posters.PosterFacts, name: str, size: str, fmt: str) -> Response:
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
    size, fmt = posters.checked(size, format)
    with db.session() as s:
        facts = posters.zone_facts(s, config, zone_code)
    return download(facts, zone_code, size, fmt)


@router.get("/nodes/{node_id}/poster")
def node_poster(
    db: DbDep,
    config: ConfigDep,
    node_id: str,
    _viewer: Annotated[Viewer, allowed("posters")],
    size: str = "a4",
    format: str = "pdf",
) -> Response:
    size, fmt = posters.checked(size, format)
    with db.session() as s:
        facts = posters.node_facts(s, config, node_id)
    return download(facts, node_id, size, fmt)
