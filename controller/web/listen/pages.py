"""The listen-again pages and podcast feeds under ``/listen``: no login, no cookies, no scripts.

The language is chosen by ``?lang=en`` (Vietnamese otherwise), never by a cookie, and every link
carries it on. Audio is addressed by bulletin id and served only while the bulletin is listed
(``listing.is_listed``): anything else is a plain 404, the same as an id that never existed.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api.deps import ConfigDep, DbDep
from controller.config import ControllerConfig
from controller.models import Zone, now
from controller.public import listing, renditions
from controller.public.artwork import artwork
from controller.public.feeds import rss
from controller.public.renditions import FORMATS, Kind, RenditionError
from controller.web.formatting import duration, local_time
from controller.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["local_time"] = local_time
templates.env.filters["duration"] = duration

# Shared caches may keep a page a minute and a feed five; audio an hour (a bulletin taken off
# the public pages may still be heard from a cache that long).
PAGE_CACHE = "public, max-age=60"
FEED_CACHE = "public, max-age=300"
AUDIO_CACHE = "public, max-age=3600"
SHOWN = 20  # bulletins on a page and in a feed
TEXT_CHARS = 600  # of a bulletin's text on the page: 20 of them stay light on 2G
DATE = "%d/%m/%Y %H:%M"


def lang_of(request: Request) -> str:
    chosen = request.query_params.get("lang", DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _zone(s: Session, code: str) -> Zone | None:
    return s.scalar(select(Zone).where(Zone.code == code))


@router.get("/listen/cover.png")
def cover(config: ConfigDep) -> Response:
    """The podcast's cover image."""
    return FileResponse(
        artwork(config), media_type="image/png", headers={"Cache-Control": FEED_CACHE}
    )


# Registered before the pages: "/listen/feed.xml" is not a village called "feed.xml".
@router.get("/listen/{zone_code}/feed.xml")
@router.get("/listen/feed.xml")
def feed(request: Request, db: DbDep, config: ConfigDep, zone_code: str | None = None) -> Response:
    """The commune's podcast feed, or one village's."""
    return _feed(request, db, config, zone_code)


@router.api_route("/listen/audio/{name}", methods=["GET", "HEAD"])
def audio(db: DbDep, config: ConfigDep, name: str) -> Response:
    """``<bulletin id>.opus`` or ``<bulletin id>.mp3``, while the bulletin is listed."""
    bulletin_id, _, ext = name.partition(".")
    kind: Kind | None = "opus" if ext == "opus" else "mp3" if ext == "mp3" else None
    with db.session() as s:
        bulletin = listing.is_listed(s, bulletin_id) if kind else None
        sha = bulletin.audio_sha256 if bulletin else None
    if kind is None or sha is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    try:
        path = renditions.rendition(config, sha, kind)
    except RenditionError as exc:
        log.error("listen-again audio for bulletin %s: %s", bulletin_id, exc)
        return Response("Audio unavailable", status_code=503, media_type="text/plain")
    return FileResponse(
        path,
        media_type=FORMATS[kind].mime,
        headers={"Cache-Control": AUDIO_CACHE},
        filename=f"{bulletin_id}.{ext}",
        content_disposition_type="inline",
    )


@router.get("/listen/{zone_code}")
@router.get("/listen")
def listen_page(
    request: Request, db: DbDep, config: ConfigDep, zone_code: str | None = None
) -> Response:
    """The commune's page, or one village's."""
    return _page(request, db, config, zone_code)


def _page(request: Request, db: DbDep, config: ControllerConfig, zone_code: str | None) -> Response:
    lang = lang_of(request)
    t = partial(_translate, lang)
    with db.session() as s:
        zone = _zone(s, zone_code) if zone_code is not None else None
        if zone_code is not None and zone is None:
            return _render(
                request,
                "missing.html",
                lang,
                status_code=404,
                commune=config.commune_name,
                t=t,
                code=zone_code,
            )
        context: dict[str, Any] = {
            "zone": zone,
            "alerts": listing.alerts(s, zone),
            "aired": listing.aired(s, zone, limit=SHOWN),
            "upcoming": listing.upcoming(s, zone),
            "regular": listing.regular(s, zone),
            "villages": [] if zone else list(s.scalars(select(Zone).order_by(Zone.name))),
        }
    suffix = "?lang=en" if lang == "en" else ""
    base = f"/listen/{zone.code}" if zone else "/listen"
    return _render(
        request,
        "listen.html",
        lang,
        commune=config.commune_name,
        t=t,
        q=suffix,
        here=base,
        feed_url=f"{base}/feed.xml",
        sms=config.channels.sms is not None,  # no subscribing where no SMS can be sent
        text_chars=TEXT_CHARS,
        date=DATE,
        headers={"Cache-Control": PAGE_CACHE},
        **context,
    )


def _render(
    request: Request,
    template: str,
    lang: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"lang": lang, **context},
        status_code=status_code,
        headers=headers,
    )


def _feed(request: Request, db: DbDep, config: ControllerConfig, zone_code: str | None) -> Response:
    lang = lang_of(request)
    base = config.web_url
    with db.session() as s:
        zone = _zone(s, zone_code) if zone_code is not None else None
        if zone_code is not None and zone is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        items = listing.aired(s, zone, limit=SHOWN)
        place = zone.name if zone else ""
    path = f"/listen/{zone.code}" if zone else "/listen"
    name = f"{place} – {config.commune_name}" if place else config.commune_name

    def enclosure(item: listing.Aired) -> tuple[str, int] | None:
        try:
            made = renditions.rendition(config, item.audio_sha256, "mp3")
        except RenditionError as exc:  # the feed goes on without it; the log says why
            log.error("podcast feed leaves out bulletin %s: %s", item.bulletin_id, exc)
            return None
        return f"{base}/listen/audio/{item.bulletin_id}.mp3", made.stat().st_size

    body = rss(
        title=translate("listen.feed.title", lang, place=name),
        description=translate("listen.feed.description", lang, place=name),
        page_url=f"{base}{path}",
        feed_url=f"{base}{path}/feed.xml",
        author=config.commune_name,
        items=items,
        enclosure=enclosure,
        built=items[0].aired_at if items else now(),
        cover_url=f"{base}/listen/cover.png",
    )
    return Response(
        body,
        media_type="application/rss+xml; charset=utf-8",
        headers={"Cache-Control": FEED_CACHE},
    )


def _translate(lang: str, key: str, **values: object) -> str:
    return translate(key, lang, **values)
