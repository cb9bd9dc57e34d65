"""HTTP API for software updates: each rollout's progress, and starting one (admin only).

Adding a release's wheel is `loa release add` on the server (it signs it with the key kept
there); a rollout is the same as `loa release rollout` and answers 202 once the signed update
commands are queued.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from controller.api.deps import ERRORS, DbDep, DispatcherDep, UserDep, allowed
from controller.api.nodes import FieldsDep
from controller.models import User
from controller.releases.rollout import progress, start_rollout, target_nodes
from controller.schemas import RolloutOut, RolloutStartedOut

router = APIRouter(prefix="/api/v1/releases", tags=["releases"])
AdminDep = Annotated[User, allowed("admin")]


@router.get("", responses=ERRORS)
def list_rollouts(db: DbDep, _user: UserDep) -> list[RolloutOut]:
    with db.session() as s:
        return [RolloutOut(**vars(p)) for p in progress(s)]


@router.post("/{version}/rollout", status_code=202, responses=ERRORS)
def rollout(
    version: str, fields: FieldsDep, db: DbDep, dispatcher: DispatcherDep, user: AdminDep
) -> RolloutStartedOut:
    """Fields: ``all`` (true), ``zones`` and ``nodes`` (comma-separated codes and ids)."""
    every = str(fields.get("all", "")).lower() in ("true", "1", "on")
    with db.session() as s:
        targets = target_nodes(
            s, every=every, zones=_listed(fields.get("zones")), nodes=_listed(fields.get("nodes"))
        )
        told = start_rollout(s, dispatcher.key, user, version, targets)
    return RolloutStartedOut(version=version, targets=targets, told=told)


def _listed(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]
