"""The technician's view of villagers' fault reports and the poster downloads, in the logged-in
web app without a browser (real app, real SQLite, real sessions)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from sqlalchemy import select

from controller.models import AuditEntry, FaultReport, now
from controller.public import fault_reports as faults
from tests.controller.commune import Commune
from tests.controller.web.conftest import Login


def report(commune: Commune, zone: str, point: str, note: str, phone: str = "") -> int:
    with commune.db.session() as s:
        row = faults.submit(
            s,
            faults.Report(zone, point, "silent", note, phone),
            f"sender-{note}",
            now(),
        )
        return row.id


def test_open_reports_show_point_village_time_and_text_phone_only_to_admins(
    commune: Commune, login: Login
):
    node = commune.nodes_in("thon-dong")[0]
    report(commune, "thon-dong", node, "loa ở xóm 3 không nghe được", "0912345678")
    report(commune, "thon-tay", "unknown", "không biết loa nào")
    admin, _ = login("admin")
    page = admin.get("/faults")
    assert page.status_code == 200
    text = page.text
    assert "loa ở xóm 3 không nghe được" in text
    assert "Thôn Đông" in text
    assert "Thôn Tây" in text
    assert "Không rõ loa nào" in text
    assert f'href="/nodes/{node}"' in text
    assert "Không nghe được" in text
    assert "0912345678" in text
    assert "Đánh dấu đã xử lý" in text
    assert "2 báo cáo chưa xử lý" in text
    assert (
        "Có 2 báo cáo loa hỏng của người dân chưa xử lý" in admin.get("/").text
    )  # on the home page too
    broadcaster, _ = login("phatthanh")
    seen = broadcaster.get("/faults").text
    assert "loa ở xóm 3 không nghe được" in seen
    assert "0912345678" not in seen
    assert "Đánh dấu đã xử lý" not in seen


def test_an_admin_marks_a_report_done_once_in_the_audit_log(commune: Commune, login: Login):
    first = report(commune, "thon-dong", "unknown", "rè quá")
    admin, csrf = login("admin")
    done = admin.post(f"/faults/{first}/done", data={"csrf": csrf, "next": "/faults"})
    assert done.status_code == 303
    assert done.headers["location"] == "/faults?done=1"
    after = admin.get("/faults?done=1").text
    assert "rè quá" not in after
    assert "Đã đánh dấu báo cáo là đã xử lý" in after
    with commune.db.session() as s:
        row = s.get(FaultReport, first)
        assert row is not None
        assert row.resolved_by == "admin"
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "fault.resolve")).all()
        assert [(e.actor, e.target, e.detail["zone"]) for e in entries] == [
            ("admin", str(first), "thon-dong")
        ]
    again = admin.post(f"/faults/{first}/done", data={"csrf": csrf})
    assert again.status_code == 409
    with commune.db.session() as s:
        assert (
            len(s.scalars(select(AuditEntry).where(AuditEntry.action == "fault.resolve")).all())
            == 1
        )


def test_only_an_admin_with_the_forms_token_marks_one_done(commune: Commune, login: Login):
    open_one = report(commune, "thon-dong", "unknown", "kêu suốt đêm")
    broadcaster, csrf = login("phatthanh")
    assert broadcaster.post(f"/faults/{open_one}/done", data={"csrf": csrf}).status_code == 403
    admin, _ = login("admin")
    assert admin.post(f"/faults/{open_one}/done", data={"csrf": "nope"}).status_code == 403
    with commune.db.session() as s:
        row = s.get(FaultReport, open_one)
        assert row is not None
        assert row.resolved_at is None


def test_a_points_page_shows_its_reports_and_its_villages_unsure_ones(
    commune: Commune, login: Login
):
    mine, other = commune.nodes_in("thon-dong")
    report(commune, "thon-dong", mine, "loa này hỏng")
    report(commune, "thon-dong", "unknown", "một loa nào đó trong thôn")
    report(commune, "thon-dong", other, "loa kia hỏng")
    report(commune, "thon-tay", "unknown", "thôn khác")
    admin, csrf = login("admin")
    page = admin.get(f"/nodes/{mine}").text
    assert "Người dân báo hỏng (2)" in page
    assert "loa này hỏng" in page
    assert "một loa nào đó trong thôn" in page
    assert "loa kia hỏng" not in page
    assert "thôn khác" not in page
    with commune.db.session() as s:
        first = s.scalars(select(FaultReport.id).where(FaultReport.node_id == mine)).one()
    back = admin.post(f"/faults/{first}/done", data={"csrf": csrf, "next": f"/nodes/{mine}"})
    assert back.headers["location"] == f"/nodes/{mine}?done=1"
    assert "loa này hỏng" not in admin.get(back.headers["location"]).text


def qr_of(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_approvers_and_admins_download_posters_of_villages_and_points(
    commune: Commune, login: Login
):
    approver, _ = login("pheduyet")
    village = approver.get("/zones/thon-dong/poster?size=a5&format=pdf")
    assert village.status_code == 200
    assert village.headers["content-type"] == "application/pdf"
    assert "ap-phich-thon-dong-a5.pdf" in village.headers["content-disposition"]
    assert village.content.startswith(b"%PDF")
    node = commune.nodes_in("thon-tay")[0]
    point = approver.get(f"/nodes/{node}/poster?size=a4&format=png")
    assert point.headers["content-type"] == "image/png"
    assert qr_of(point.content) == [f"{commune.config.web_url}/listen/thon-tay"]
    assert (
        f'href="/nodes/{node}/poster?size=a4&amp;format=pdf"' in approver.get(f"/nodes/{node}").text
    )
    admin, _ = login("admin")
    index = admin.get("/nodes?zone=thon-dong").text
    assert 'href="/zones/thon-dong/poster?size=a4&amp;format=pdf"' in index
    assert "In áp phích QR của Thôn Đông" in index


def test_posters_are_refused_to_broadcasters_and_for_what_does_not_exist(
    commune: Commune, login: Login
):
    broadcaster, _ = login("phatthanh")
    assert broadcaster.get("/zones/thon-dong/poster").status_code == 403
    node = commune.nodes_in("thon-dong")[0]
    assert "/poster?" not in broadcaster.get(f"/nodes/{node}").text
    admin, _ = login("admin")
    assert admin.get("/zones/thon-khong-co/poster").status_code == 404
    assert admin.get("/nodes/khong-co/poster").status_code == 404
    assert admin.get("/zones/thon-dong/poster?size=a3").status_code == 422
    assert admin.get("/zones/thon-dong/poster?format=svg").status_code == 422
