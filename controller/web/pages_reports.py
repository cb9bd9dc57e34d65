"""Reports: where one bulletin played and why not elsewhere (live), and the commune's monthly
report as a page, a printout and a CSV file."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from controller.api.deps import DbDep
from controller.models import Alert, Bulletin, User, Zone, now
from controller.reports import spreadsheet
from controller.reports.bulletin import bulletin_report
from controller.reports.monthly import (
    LongRow,
    MonthlyReport,
    long_rows,
    month_of,
    monthly_report,
    parse_month,
)
from controller.web import request_words
from controller.web.deps import Viewer, allowed
from controller.web.i18n import translate
from controller.web.plays import airings, plays
from controller.web.render import page
from controller.web.report_words import number

router = APIRouter(include_in_schema=False)
CSV_COLUMNS = ("month", "measure", "breakdown", "key", "name", "value", "unit", "code")


@router.get("/bulletins/{bulletin_id}/report")
def bulletin_report_page(
    request: Request, db: DbDep, bulletin_id: str, viewer: Annotated[Viewer, allowed("view")]
) -> Response:
    with db.session() as s:
        bulletin = s.get(Bulletin, bulletin_id)
        if bulletin is None:
            raise HTTPException(404, translate("error.not_found", viewer.lang))
        author = s.get(User, bulletin.created_by)
        alert_id = s.scalar(select(Alert.id).where(Alert.bulletin_id == bulletin_id))
        zones = {z.code: z.name for z in s.scalars(select(Zone))}
        report = bulletin_report(s, bulletin)
        asked = request_words.describe(s, bulletin.request, viewer.lang)
        info = {
            "id": bulletin.id,
            "title": bulletin.title,
            "priority": bulletin.priority,
            "created_at": bulletin.created_at,
            "play_at": bulletin.play_at,
            "valid_until": bulletin.valid_until,
            "duration_s": bulletin.audio.duration_s,
            "author": (author.display_name or author.username) if author else "?",
            "airings": airings(report, viewer.lang),
            "asked": asked.when if asked else "",
        }
    return page(
        request,
        viewer,
        "reports/bulletin.html",
        bulletin=info,
        alert_id=alert_id,
        zones=zones,
        data={"bulletin_id": bulletin_id, **plays(report, viewer.lang)},
    )


def chosen_month(month: str | None) -> tuple[date | None, str]:
    """The month asked for (default: this month in Asia/Ho_Chi_Minh), or an error key."""
    if not month:
        return month_of(now()), ""
    try:
        return parse_month(month), ""
    except ValueError:
        return None, "reports.monthly.error.month"


@router.get("/reports")
def monthly_page(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    month: str | None = None,
) -> Response:
    chosen, error = chosen_month(month)
    if chosen is None:
        return page(
            request,
            viewer,
            "reports/monthly.html",
            status_code=422,
            month_text=month or "",
            error=error,
            report=None,
        )
    with db.session() as s:
        report = monthly_report(s, chosen, now())
        aired = aired_bulletins(s, report)
    return page(
        request,
        viewer,
        "reports/monthly.html",
        month_text=chosen.strftime("%m/%Y"),
        error="",
        report=report,
        aired=aired,
        period_end=min(report.end - timedelta(seconds=1), now()),
        number=lambda v, digits=1: number(v, viewer.lang, digits),
    )


def aired_bulletins(s: Any, report: MonthlyReport) -> list[Bulletin]:
    if not report.bulletin_ids:
        return []
    rows = s.scalars(
        select(Bulletin)
        .where(Bulletin.id.in_(report.bulletin_ids))
        .order_by(Bulletin.created_at.desc())
    )
    return list(rows)


@router.get("/reports/monthly.csv")
def monthly_csv(
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    month: str | None = None,
) -> Response:
    chosen, error = chosen_month(month)
    if chosen is None:
        raise HTTPException(422, translate(error, viewer.lang))
    with db.session() as s:
        report = monthly_report(s, chosen, now())
    text = csv_text(report, viewer.lang)
    name = f"bao-cao-{chosen:%Y-%m}.csv"
    return Response(
        # a byte order mark: Excel opens UTF-8 (Vietnamese diacritics) correctly only with it
        content="\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def csv_text(report: MonthlyReport, lang: str) -> str:
    header = [translate(f"reports.csv.column.{c}", lang) for c in CSV_COLUMNS]
    month = f"{report.month:%m/%Y}"  # as the page shows it
    return spreadsheet.csv_text([header, *(csv_row(month, row, lang) for row in long_rows(report))])


def decimal(value: float, lang: str) -> str:
    """Every digit kept, with the decimal comma a Vietnamese spreadsheet and the page use
    (the CSV writer quotes such a cell, so the comma stays inside it)."""
    text = str(value)
    return text.replace(".", ",") if lang == "vi" else text


def csv_row(month: str, row: LongRow, lang: str) -> list[str]:
    measure, breakdown, key, name, value, unit = row
    if breakdown == "priority":
        name = translate(f"priority.{key}", lang).capitalize()
    elif breakdown == "source":
        name = translate(f"reports.source.{key}", lang)
    elif breakdown == "total":
        name = translate("reports.csv.by.total", lang)
    return [
        month,
        translate(f"reports.csv.measure.{measure}", lang),
        translate(f"reports.csv.by.{breakdown}", lang),
        key,
        name,
        "" if value is None else decimal(value, lang),
        translate(f"reports.csv.unit.{unit}", lang),
        f"{measure}.{breakdown}",
    ]
