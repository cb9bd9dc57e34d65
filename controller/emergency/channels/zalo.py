"""Zalo Official Account messages: POST ``{base_url}/v3.0/oa/message/cs`` with the OA's
``access_token`` header and ``{"recipient": {"user_id": ...}, "message": {"text": ...}}``.
Zalo answers 200 with ``{"error": 0, ...}`` on success and a negative ``error`` otherwise."""

from __future__ import annotations

import httpx

from controller.channel_settings import ZaloSettings
from controller.emergency.channels.outcome import SENT, Outcome, failed, of_response, post

MAX_TEXT = 2000  # Zalo's limit for a text message (the outbox cuts longer ones, and says so)


class ZaloOa:
    def __init__(self, settings: ZaloSettings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client

    def deliver(self, user_id: str, text: str) -> Outcome:
        s = self.settings
        answer = post(
            self.client,
            s.base_url.rstrip("/") + s.path,
            headers={"access_token": s.access_token},
            json={"recipient": {"user_id": user_id}, "message": {"text": text}},
        )
        if isinstance(answer, Outcome):
            return answer
        if (bad := of_response(answer)) is not None:
            return bad
        try:
            body = answer.json()
            error = int(body.get("error", 0))
        except (ValueError, AttributeError, TypeError):
            return failed("Zalo's answer is not the JSON it documents")
        if error != 0:
            return failed(f"Zalo error {error}: {str(body.get('message', ''))[:150]}")
        return SENT
