"""SMS through a brandname provider's HTTP API, its request shaped by the configured template."""

from __future__ import annotations

from typing import Any

import httpx

from controller.channel_settings import HttpGateway
from controller.emergency.channels import phones
from controller.emergency.channels.outcome import SENT, Outcome, failed, of_response, post


def fill(template: Any, values: dict[str, str]) -> Any:
    """The template with each string that is exactly a placeholder replaced by its value."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return values.get(template[1:-1], template)
    return template


def as_number(e164: str, number_format: str) -> str:
    if number_format == "e164":
        return e164
    return e164[1:] if number_format == "84" else phones.national(e164)


class GatewaySms:
    def __init__(self, settings: HttpGateway, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client

    def deliver(self, number: str, text: str) -> Outcome:
        s = self.settings
        values = {
            "number": as_number(number, s.number_format),
            "text": text,
            "brandname": s.brandname,
        }
        body = fill(s.body, values)
        options: dict[str, Any] = {"headers": s.headers}
        options["json" if s.format == "json" else "data"] = body
        if s.username:
            options["auth"] = (s.username, s.password)
        answer = post(self.client, s.url, **options)
        if isinstance(answer, Outcome):
            return answer
        if (bad := of_response(answer)) is not None:
            return bad
        return self.read(answer)

    def read(self, response: httpx.Response) -> Outcome:
        """A 200 may still be a refusal: providers put their own code in the body."""
        field = self.settings.success_field
        if not field:
            return SENT
        try:
            value = response.json().get(field)
        except (ValueError, AttributeError):
            return failed(f"the gateway's answer is not JSON with {field!r}")
        if str(value) != self.settings.success_value:
            return failed(f"gateway refused: {field}={value} {response.text[:150]}")
        return SENT
