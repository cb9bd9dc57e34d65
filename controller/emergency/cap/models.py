"""Typed CAP 1.2 values. Pure data: parsing lives in `parse.py`, decisions in `policy.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire",
    "Health", "Env", "Transport", "Infra", "CBRNE", "Other",
]  # fmt: skip
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

LatLon = tuple[float, float]
# (sender, identifier, sent): CAP's own identity of a message, used by `references` and dedupe.
CapKey = tuple[str, str, datetime]


class CapError(ValueError):
    """A CAP document (or feed) we refuse; the message says what is wrong. Maps to HTTP 4xx."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CapArea(_Frozen):
    area_desc: str
    # Each polygon is closed (first point == last point), in CAP order (lat, lon).
    polygons: list[list[LatLon]] = []
    circles: list[tuple[float, float, float]] = []  # (lat, lon, radius_km)
    geocodes: list[tuple[str, str]] = []  # (valueName, value)


class CapInfo(_Frozen):
    language: str = "en-US"  # CAP 1.2 §3.2.2: absent language means en-US
    categories: list[Category]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    effective: AwareDatetime | None = None
    onset: AwareDatetime | None = None
    expires: AwareDatetime | None = None
    sender_name: str | None = None
    web: str | None = None  # a page with more about the alert (ours: the listen-again page)
    # First occurrence of a valueName wins; CAP allows repeats but we never need more than one.
    parameters: dict[str, str] = {}
    areas: list[CapArea] = []


class CapAlert(_Frozen):
    identifier: str
    sender: str
    sent: AwareDatetime
    status: Status
    msg_type: MsgType
    scope: Scope
    note: str | None = None  # why a Cancel was sent, or where a relayed alert came from
    references: list[CapKey] = []
    infos: list[CapInfo] = []

    @property
    def key(self) -> CapKey:
        return (self.sender, self.identifier, self.sent)
