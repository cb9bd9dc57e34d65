"""The SMS gateway's inbound call: a villager's answer, so that "HUY" unsubscribes."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from controller.api.deps import ConfigDep, DbDep
from controller.emergency.channels import inbound
from controller.emergency.channels.vault import load_vault

router = APIRouter(prefix="/api/v1/sms", tags=["emergency"])
SENDER_FIELDS = ("from", "phone", "sender", "msisdn")
TEXT_FIELDS = ("text", "message", "content", "body")


@router.post("/inbound")
async def sms_inbound(
    request: Request, db: DbDep, config: ConfigDep, secret: str = ""
) -> dict[str, int]:
    """A received SMS as a form or JSON with the sender (``from``, ``phone``, ``sender`` or
    ``msisdn``) and the text (``text``, ``message``, ``content`` or ``body``), authenticated
    by ``?secret=`` (the gateway's ``inbound_secret``). Answers how many subscriptions ended."""
    sms = config.channels.sms
    expected = sms.http.inbound_secret if sms and sms.http else ""
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise HTTPException(403, "unknown or missing inbound secret")
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await request.json()
        if not isinstance(data, dict):
            raise HTTPException(422, "expected a JSON object")
    else:
        data = dict(await request.form())
    sender = next((str(data[k]) for k in SENDER_FIELDS if data.get(k)), "")
    text = next((str(data[k]) for k in TEXT_FIELDS if data.get(k)), "")
    if not sender:
        raise HTTPException(422, f"no sender: give one of {', '.join(SENDER_FIELDS)}")
    vault = load_vault(config.data_dir)
    ended = await run_in_threadpool(inbound.handle, db, vault, sender, text)
    return {"ended": ended}
