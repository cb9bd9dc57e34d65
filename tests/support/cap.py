"""Build small CAP 1.2 documents for tests, one element changed at a time."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).parent / "cap_samples"
NS = "urn:oasis:names:tc:emergency:cap:1.2"


def info_xml(
    *,
    language: str | None = "vi-VN",
    event: str = "Lũ",
    urgency: str = "Immediate",
    severity: str = "Severe",
    certainty: str = "Likely",
    headline: str = "Cảnh báo lũ trên sông Hương",
    expires: str | None = None,
    parameters: dict[str, str] | None = None,
    area: str = "",
    category: str | None = "Met",
) -> str:
    parts = []
    if language is not None:
        parts.append(f"<language>{language}</language>")
    if category is not None:
        parts.append(f"<category>{category}</category>")
    parts += [
        f"<event>{event}</event>",
        f"<urgency>{urgency}</urgency>",
        f"<severity>{severity}</severity>",
        f"<certainty>{certainty}</certainty>",
        f"<headline>{headline}</headline>",
    ]
    if expires is not None:
        parts.append(f"<expires>{expires}</expires>")
    for name, value in (parameters or {}).items():
        parts.append(f"<parameter><valueName>{name}</valueName><value>{value}</value></parameter>")
    parts.append(area)
    return "<info>" + "".join(parts) + "</info>"


def alert_xml(
    *,
    identifier: str | None = "VN-TTH-1",
    sender: str = "pctt@thuathienhue.gov.vn",
    sent: str = "2026-11-23T14:00:00+07:00",
    status: str = "Actual",
    msg_type: str = "Alert",
    scope: str = "Public",
    references: str | None = None,
    infos: tuple[str, ...] | None = None,
    ns: str = NS,
) -> bytes:
    head = "" if identifier is None else f"<identifier>{identifier}</identifier>"
    head += (
        f"<sender>{sender}</sender><sent>{sent}</sent><status>{status}</status>"
        f"<msgType>{msg_type}</msgType><scope>{scope}</scope>"
    )
    if references is not None:
        head += f"<references>{references}</references>"
    body = "".join(infos if infos is not None else (info_xml(),))
    return f'<alert xmlns="{ns}">{head}{body}</alert>'.encode()


# The OASIS CAP 1.2 schema, vendored unchanged (tests/support/CAP-v1.2.xsd, copyright notice
# kept; from IBM/cap's resources/, itself a copy of docs.oasis-open.org/emergency/cap/v1.2/):
# nothing is downloaded at test time.
XSD = Path(__file__).parent / "CAP-v1.2.xsd"


def assert_valid_cap(document: bytes) -> None:
    """Fail with lxml's own words unless ``document`` is valid against the CAP 1.2 schema."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(XSD)))
    parsed = etree.fromstring(document)
    if not schema.validate(parsed):
        raise AssertionError(f"not valid CAP 1.2: {schema.error_log}")
