"""``POST /api/v1/enrol``: a new Pi exchanges its one-time code for its bundle.

The code is the only credential (``controller.nodes.enrolment`` limits the guessing); the Pi
reaches this route over HTTPS and checks the certificate's fingerprint before it sends the code.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from controller.api.deps import ERRORS, ConfigDep, DbDep
from controller.nodes import enrolment
from controller.schemas import Problem

router = APIRouter(prefix="/api/v1/enrol", tags=["nodes"])


class EnrolIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="the one-time code, as printed")


class EnrolOut(BaseModel):
    node_id: str
    files: dict[str, str] = Field(
        description="node.json, controller.pub and, with TLS on the broker, ca.crt"
    )


@router.post("", response_model=EnrolOut, responses={**ERRORS, 429: {"model": Problem}})
async def enrol(body: EnrolIn, request: Request, config: ConfigDep, db: DbDep) -> object:
    """The node's bundle, with a new broker password (the node's previous one stops working);
    the code is spent. 403 for an unknown, expired or used code, 429 after too many refusals."""
    if request.url.scheme != "https":
        # a reverse proxy in front says so with X-Forwarded-Proto (uvicorn trusts 127.0.0.1's)
        problem = Problem(
            detail="enrolment is served over HTTPS only: the bundle holds the node's password",
            code="enrol.https_only",
        )
        return JSONResponse(problem.model_dump(), status_code=403)
    address = request.client.host if request.client else "?"
    try:
        bundle = await run_in_threadpool(enrolment.redeem, config, db, body.code, address)
    except enrolment.ThrottledError as exc:
        problem = Problem(
            detail=f"too many refused enrolment attempts: try again in {exc.retry_after_s} s",
            code="enrol.throttled",
        )
        return JSONResponse(
            problem.model_dump(),
            status_code=429,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return EnrolOut(node_id=bundle.node_id, files=bundle.files)
