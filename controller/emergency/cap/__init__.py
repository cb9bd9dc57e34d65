"""CAP 1.2 in and out: parse, decide, match areas to zones, read feeds; write documents and
the Atom feed of the commune's own alerts.

Pure logic: no database, HTTP server or MQTT; the controller wires it in.
"""

from controller.emergency.cap.area import (
    ZoneGeo,
    describe_unmatched,
    match_zones,
    village_area,
    village_radius_km,
)
from controller.emergency.cap.atom import Entry, atom_feed
from controller.emergency.cap.dedupe import is_duplicate, key_string
from controller.emergency.cap.feed import FeedItems, extract_alerts, fetch, fetch_feed
from controller.emergency.cap.models import CAP_NS, CapAlert, CapArea, CapError, CapInfo, CapKey
from controller.emergency.cap.parse import parse_cap
from controller.emergency.cap.policy import (
    CapPriority,
    Decision,
    decide,
    preferred_info,
    priority_for,
    risk_level,
    speech_text,
)
from controller.emergency.cap.write import cap_time, clean_text, write_cap

__all__ = [
    "CAP_NS",
    "CapAlert",
    "CapArea",
    "CapError",
    "CapInfo",
    "CapKey",
    "CapPriority",
    "Decision",
    "Entry",
    "FeedItems",
    "ZoneGeo",
    "atom_feed",
    "cap_time",
    "clean_text",
    "decide",
    "describe_unmatched",
    "extract_alerts",
    "fetch",
    "fetch_feed",
    "is_duplicate",
    "key_string",
    "match_zones",
    "parse_cap",
    "preferred_info",
    "priority_for",
    "risk_level",
    "speech_text",
    "village_area",
    "village_radius_km",
    "write_cap",
]
