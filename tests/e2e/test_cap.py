"""CAP 1.2 through the controller: Alert airs in its area, Update replaces it, Cancel stops it."""

from __future__ import annotations

from typing import Any

from controller.db import Database
from controller.models import Node
from tests.support import SystemUnderTest, wait_for
from tests.support.cap import alert_xml, info_xml

SENDER = "pctt@hanoi.gov.vn"
# A box around Thôn Đông (21.0285, 105.8542) only, and one around both villages.
EAST = "21.02,105.850 21.02,105.860 21.04,105.860 21.04,105.850 21.02,105.850"
BOTH = "21.00,105.840 21.00,105.870 21.05,105.870 21.05,105.840 21.00,105.840"


def cap(
    identifier: str,
    polygon: str,
    *,
    msg_type: str = "Alert",
    status: str = "Actual",
    references: str | None = None,
    headline: str = "Cảnh báo lũ khẩn cấp",
) -> bytes:
    area = f"<area><areaDesc>xã</areaDesc><polygon>{polygon}</polygon></area>"
    return alert_xml(
        identifier=identifier,
        sender=SENDER,
        sent=SENT[identifier],
        status=status,
        msg_type=msg_type,
        references=references,
        infos=(info_xml(headline=headline, severity="Extreme", urgency="Immediate", area=area),),
    )


SENT = {
    "A1": "2026-11-23T14:00:00+07:00",
    "A2": "2026-11-23T14:10:00+07:00",
    "A3": "2026-11-23T14:20:00+07:00",
    "T1": "2026-11-23T14:30:00+07:00",
    "X9": "2026-11-23T14:40:00+07:00",
    "F1": "2026-11-23T14:50:00+07:00",
}


def post(sut: SystemUnderTest, xml: bytes) -> Any:
    with sut.http() as c:
        return c.post("/api/v1/cap", content=xml, headers={"Content-Type": "application/xml"})


def alert(sut: SystemUnderTest, alert_id: str) -> dict[str, Any]:
    with sut.http() as c:
        return dict(c.get(f"/api/v1/alerts/{alert_id}").json())


def test_cap_alert_update_cancel_and_bad_documents(system_factory):
    sut = system_factory(nodes=2)
    east, west = sut.node_ids  # demo nodes alternate Thôn Đông, Thôn Tây
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        s.get(Node, west).accepts_tests = True  # type: ignore[union-attr]
    db.engine.dispose()
    sut.cluster.start_all()

    first = post(sut, cap("A1", EAST))
    assert first.status_code == 200, first.text
    assert first.json()["action"] == "air"
    assert first.json()["zones"] == ["thon-dong"]
    a1 = first.json()["alert_id"]
    wait_for(lambda: alert(sut, a1)["report"]["summary"]["played"] == 1, 60, "A1 on air")
    assert [n["node_id"] for n in alert(sut, a1)["report"]["nodes"]] == [east]

    again = post(sut, cap("A1", EAST))
    assert again.json()["duplicate"] is True

    update = post(
        sut,
        cap(
            "A2",
            BOTH,
            msg_type="Update",
            headline="Lũ lên nhanh",
            references=f"{SENDER},A1,{SENT['A1']}",
        ),
    )
    assert update.json()["action"] == "update", update.text
    assert update.json()["zones"] == ["thon-dong", "thon-tay"]
    a2 = update.json()["alert_id"]
    assert alert(sut, a1)["state"] == "superseded"
    wait_for(lambda: alert(sut, a2)["report"]["summary"]["played"] == 2, 60, "A2 on both")

    cancel = post(sut, cap("A3", BOTH, msg_type="Cancel", references=f"{SENDER},A2,{SENT['A2']}"))
    assert cancel.json()["action"] == "cancel", cancel.text
    assert alert(sut, a2)["state"] == "cancelled"
    wait_for(
        lambda: all(
            n["status"] in ("cancelled", "finished") for n in alert(sut, a2)["report"]["nodes"]
        ),
        30,
        "A2 stopped everywhere",
    )

    test_msg = post(sut, cap("T1", BOTH, status="Test"))
    assert test_msg.json()["action"] == "log_only"
    t1 = test_msg.json()["alert_id"]
    report = alert(sut, t1)["report"]
    assert [n["node_id"] for n in report["nodes"]] == [west]  # only the node marked for tests

    with sut.http() as c:
        count = len(c.get("/api/v1/cap").json())
    for bad, message in [
        (b"<alert>not closed", "malformed"),
        (cap("A1", EAST).replace(b"cap:1.2", b"cap:1.1"), "namespace"),
        (cap("X9", EAST).replace(b"<identifier>X9</identifier>", b""), "identifier"),
        (b"", "empty"),
    ]:
        resp = post(sut, bad)
        assert resp.status_code == 422, resp.text
        assert message in resp.json()["detail"]
    with sut.http() as c:
        assert len(c.get("/api/v1/cap").json()) == count  # nothing stored
        assert len(c.get("/api/v1/alerts").json()) == 3  # nothing aired


def test_a_polled_feed_puts_its_alert_on_air(system_factory):
    """The controller polls a configured feed (here a local HTTP server) and airs what is new."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    document = cap("F1", BOTH)
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>PCTT</title>'
        "<entry><title>lũ</title><link rel='alternate' type='application/cap+xml' "
        "href='/alerts/F1.xml'/></entry></feed>"
    ).encode()

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = (
                (feed, "application/atom+xml")
                if self.path == "/feed"
                else (document, "application/cap+xml")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed"
        sut = system_factory(nodes=1, cap_feeds=[url], cap_poll_interval_s=5)
        sut.cluster.start_all()

        def aired() -> list[dict[str, Any]] | None:
            with sut.http() as c:
                found = [a for a in c.get("/api/v1/alerts").json() if a["source"] == "cap"]
            return found or None

        (found,) = wait_for(aired, 60, "the feed's alert")
        wait_for(lambda: alert(sut, found["id"])["report"]["summary"]["played"] == 1, 60, "air")
        with sut.http() as c:
            (message,) = c.get("/api/v1/cap").json()
        assert message["source"] == url
        assert message["action"] == "air"
    finally:
        server.shutdown()
