"""Electronic notice boards: the alert as one JSON document (README, "Notice boards"),
POSTed to each board's address and/or published on the boards' MQTT topic."""

from __future__ import annotations

import json
from typing import Any

import httpx

from controller.delivery.publisher import Publisher
from controller.emergency.channels.outcome import SENT, Outcome, of_response, post, transient
from controller.models import Alert
from controller.reports.bulletin import local
from protocol.topics import boards_topic

FORMAT_VERSION = 1


def board_document(alert: Alert, commune: str, zones: list[dict[str, str]]) -> dict[str, Any]:
    expires = local(alert.expires_at)
    sent = local(alert.sent_at)
    return {
        "version": FORMAT_VERSION,
        "type": "alert",
        "id": alert.id,
        "state": alert.state,
        "commune": commune,
        "zones": zones,
        "title": alert.bulletin.title,
        "text": alert.text,
        "sent_at": sent.isoformat() if sent else None,
        "expires_at": expires.isoformat() if expires else None,
        "replaces": alert.replaces,
    }


class HttpBoard:
    def __init__(self, headers: dict[str, str], client: httpx.Client) -> None:
        self.headers = headers
        self.client = client

    def deliver(self, url: str, text: str) -> Outcome:
        answer = post(
            self.client,
            url,
            content=text.encode(),
            headers={**self.headers, "Content-Type": "application/json"},
        )
        if isinstance(answer, Outcome):
            return answer
        return of_response(answer) or SENT


class MqttBoard:
    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    def deliver(self, _topic: str, text: str) -> Outcome:
        json.loads(text)  # the stored document, never anything else
        if self.publisher.publish(boards_topic(), text):
            return SENT
        return transient("the broker connection is down")
