"""The commune's alert channels, as configured (the controller config's ``channels`` section;
the channels themselves are in controller/emergency/channels, which this must not import).

Every channel is off until configured. Secrets (gateway password, OA access token) are in the
controller config file, which is written 0600.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(6, ge=1, le=20, description="tries before a message is failed")
    base_delay_s: float = Field(5.0, gt=0, description="first wait; doubled on each retry")
    max_delay_s: float = Field(600.0, gt=0, description="longest wait between two tries")
    timeout_s: float = Field(15.0, gt=0, description="one request's time limit")


class HttpGateway(BaseModel):
    """A brandname SMS provider's HTTP API. ``body`` is the request as the provider documents
    it, with the placeholders ``{number}``, ``{text}`` and ``{brandname}`` as whole string
    values (never spliced into other text, so a message cannot change the request's shape)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="the provider's send address")
    format: Literal["json", "form"] = "json"
    body: dict[str, Any] = Field(
        default_factory=lambda: {"to": "{number}", "text": "{text}", "brandname": "{brandname}"}
    )
    headers: dict[str, str] = Field(default_factory=dict, description="e.g. an API key header")
    username: str = Field("", description="HTTP basic credentials, if the provider uses them")
    password: str = ""
    brandname: str = ""
    number_format: Literal["e164", "84", "0"] = Field(
        "84", description="+84912345678, 84912345678 or 0912345678, as the provider wants"
    )
    success_field: str = Field(
        "", description="a JSON answer field that must equal success_value (e.g. CodeResult)"
    )
    success_value: str = ""
    inbound_secret: str = Field(
        "", description="the provider's inbound SMS calls carry it as ?secret=... (HUY keyword)"
    )


class ModemSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mmcli: str = Field("mmcli", description="ModemManager's command line tool")
    modem: str = Field("any", description="mmcli -m argument")


class SmsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Literal["http", "modem"]
    http: HttpGateway | None = None
    modem: ModemSettings = Field(default_factory=ModemSettings)
    accents: bool = Field(True, description="off: Vietnamese without tones, 160 a part")
    max_parts: int = Field(4, ge=1, le=10, description="a longer alert is cut at a word")
    prefix: str = Field("", description="put before every alert, e.g. the commune's name")

    @model_validator(mode="after")
    def _gateway_given(self) -> SmsSettings:
        if self.provider == "http" and self.http is None:
            raise ValueError('provider "http" needs an "http" section with the gateway url')
        return self


class ZaloSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_token: str = Field(description="the Official Account's access token")
    base_url: str = "https://openapi.zalo.me"
    path: str = Field("/v3.0/oa/message/cs", description="the message-send endpoint")
    user_ids: list[str] = Field(description="the OA followers (user_id) told of every alert")


class BoardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(default_factory=list, description="boards taking a JSON POST")
    headers: dict[str, str] = Field(default_factory=dict, description="e.g. a board's API key")
    mqtt: bool = Field(False, description="also publish on the boards' MQTT topic")


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sms: SmsSettings | None = None
    zalo: ZaloSettings | None = None
    boards: BoardSettings | None = None
    retry: RetrySettings = Field(default_factory=RetrySettings)
