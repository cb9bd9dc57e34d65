"""A villager's phone (360 px, no login) reports a broken loudspeaker; the technician's view in
the logged-in web app shows it. Real controller, broker and nodes, driven by Chromium."""

from __future__ import annotations

from tests.support.web import fits_width, go_to_section, screenshot


def send_report(page, base: str, *, point: str, problem: str, note: str) -> None:
    page.goto(f"{base}/listen/thon-dong/report")
    page.get_by_label("Loa nào?").select_option(label=point)
    page.get_by_label(problem).check()
    page.get_by_label("Ghi chú (không bắt buộc)").fill(note)
    page.get_by_role("button", name="Gửi báo cáo").click()


def test_a_villagers_report_reaches_the_technicians_view(web_system, open_page):
    base = web_system.cluster.url
    villager = open_page()  # no account, a phone's width
    villager.goto(f"{base}/listen/thon-dong/report")
    assert fits_width(villager)
    screenshot(villager, "fault-report-form")
    send_report(
        villager, base, point="Không rõ loa nào", problem="Loa kêu suốt", note="loa kêu cả đêm"
    )
    villager.get_by_role("heading", name="Đã nhận báo cáo").wait_for()
    assert fits_width(villager)
    assert villager.context.cookies() == []  # the public side set none
    screenshot(villager, "fault-report-sent")

    technician = open_page("quantri")
    technician.goto(f"{base}/")
    go_to_section(technician, "Báo hỏng")
    row = technician.locator(".fault-row", has_text="loa kêu cả đêm")
    row.wait_for()
    assert "Loa kêu suốt" in row.inner_text()
    assert "Thôn Đông" in row.inner_text()
    assert "Không rõ loa nào" in row.inner_text()
    assert fits_width(technician)
    screenshot(technician, "faults-list")
    technician.goto(f"{base}/nodes?zone=thon-dong")
    technician.locator(".node-list a").first.click()
    technician.get_by_role("heading", name="Người dân báo hỏng (1)").wait_for()
    assert technician.get_by_role("link", name="In áp phích A4 · PDF").count() == 1
    assert fits_width(technician)
    screenshot(technician, "faults-on-point")
    go_to_section(technician, "Báo hỏng")
    row.get_by_role("button", name="Đánh dấu đã xử lý").click()
    technician.get_by_text("Đã đánh dấu báo cáo là đã xử lý.").wait_for()
    assert technician.locator(".fault-row", has_text="loa kêu cả đêm").count() == 0


def test_a_flood_from_one_phone_gets_a_clear_answer_and_stops_at_five(web_system, open_page):
    base = web_system.cluster.url
    villager = open_page()
    answers = []
    for n in range(6):
        send_report(
            villager, base, point="Không rõ loa nào", problem="Không nghe được", note=f"lần {n}"
        )
        villager.wait_for_load_state()
        answers.append(villager.locator("h1").inner_text())
        if answers[-1] == "Chưa gửi được":
            break
    assert answers[-1] == "Chưa gửi được"
    assert "chỉ gửi được 5 báo cáo" in villager.content()
    assert "thử lại sau" in villager.content()
    assert fits_width(villager)
    screenshot(villager, "fault-report-429")
    technician = open_page("quantri")
    technician.goto(f"{base}/faults")
    assert technician.locator(".fault-row", has_text="lần").count() <= 5
