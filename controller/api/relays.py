"""HTTP API for relays (tiếp âm): list, make, change, remove, and each one's runs.

The body of a make or change is a ``schedules.RelayItem`` as JSON::

    {"id": "vov1-sang", "title": "VOV1 thời sự", "url": "https://.../vov1.mp3",
     "duration_s": 1800, "recurrence": {"kind": "daily", "start_date": "2026-12-07",
     "at": "06:00"}, "zones": ["thon-dong"]}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from controller.api.deps import ERRORS, ConfigDep, DbDep, UserDep, require
from controller.errors import NotFoundError
from controller.models import Relay
from controller.relay import report, store

router = APIRouter(prefix="/api/v1/relays", tags=["relays"])


def _out(row: Relay) -> dict[str, Any]:
    return {**store.to_item(row).model_dump(mode="json"), "created_by": row.created_by}


@router.get("", responses=ERRORS)
def list_relays(db: DbDep, user: UserDep) -> list[dict[str, Any]]:
    require(user, "view")
    with db.session() as s:
        return [_out(r) for r in store.all_relays(s)]


async def _save(
    request: Request, db: DbDep, config: ConfigDep, user: UserDep, *, new: bool, relay_id: str = ""
) -> dict[str, Any]:
    require(user, "relay")
    try:
        data = await request.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if relay_id:
        data["id"] = relay_id
    item = store.parse(data)

    def save() -> dict[str, Any]:
        with db.session() as s:
            return _out(store.save(s, config, user, item, new=new))

    return await run_in_threadpool(save)


@router.post("", status_code=201, responses=ERRORS)
async def add_relay(
    request: Request, db: DbDep, config: ConfigDep, user: UserDep
) -> dict[str, Any]:
    return await _save(request, db, config, user, new=True)


@router.put("/{relay_id}", responses=ERRORS)
async def change_relay(
    relay_id: str, request: Request, db: DbDep, config: ConfigDep, user: UserDep
) -> dict[str, Any]:
    return await _save(request, db, config, user, new=False, relay_id=relay_id)


@router.delete("/{relay_id}", responses=ERRORS)
def remove_relay(relay_id: str, db: DbDep, user: UserDep) -> dict[str, str]:
    require(user, "relay")
    with db.session() as s:
        store.remove(s, user, relay_id)
    return {"id": relay_id, "state": "removed"}


@router.get("/{relay_id}/runs", responses=ERRORS)
def relay_runs(relay_id: str, db: DbDep, user: UserDep) -> list[dict[str, Any]]:
    require(user, "view")
    with db.session() as s:
        if s.get(Relay, relay_id) is None:
            raise NotFoundError(
                "relay.unknown", f"no relay {relay_id}", "Không có lịch tiếp âm này"
            )
        return [report.run_report(s, run) for run in store.runs(s, relay_id)]
