"""An emergency's commands leave before its report is built (issue 18, emergency → started).

The response carries the report of every point; at a thousand points reading it costs as much
as signing and storing the commands. The commit is what wakes the dispatcher, so it comes first.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from controller.api import alerts as alerts_api
from controller.db import Database
from controller.models import Bulletin, OutboxCommand
from controller.reports.bulletin import bulletin_report
from controller.schemas import BulletinReport


def test_the_commands_are_committed_before_the_report_is_built(
    api: tuple[TestClient, Path], monkeypatch
):
    client, root = api
    other = Database(f"sqlite:///{(root / 'loalang.sqlite3').resolve()}")
    committed: list[int] = []

    def report_after_a_look(s: object, bulletin: Bulletin) -> BulletinReport:
        # what the dispatcher's own connection can already send
        with other.session() as look:
            committed.append(look.scalar(select(func.count()).select_from(OutboxCommand)) or 0)
        return bulletin_report(s, bulletin)  # type: ignore[arg-type]

    monkeypatch.setattr(alerts_api, "bulletin_report", report_after_a_look)
    resp = client.post("/api/v1/alerts", data={"text": "Lũ về, sơ tán ngay", "all": "true"})
    assert resp.status_code == 201, resp.text
    assert len(resp.json()["report"]["nodes"]) == 2  # the response still has every point
    assert committed == [2]  # both points' commands were committed when the report was read
