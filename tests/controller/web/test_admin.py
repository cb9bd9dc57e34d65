"""Account administration and the audit log in a real browser."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import ColumnElement, func, select

from controller.db import Database
from controller.models import AuditEntry, Base, User, WebSession
from tests.support import SystemUnderTest
from tests.support.web import DESKTOP, fits_width, go_to_section, log_in, screenshot

NEW_PASSWORD = "mat-khau-moi-123"


def user_row(sut: SystemUnderTest, username: str) -> User:
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(user)
    db.engine.dispose()
    return user


def count(sut: SystemUnderTest, model: type[Base], *where: ColumnElement[bool]) -> int:
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        n = s.scalar(select(func.count()).select_from(model).where(*where)) or 0
    db.engine.dispose()
    return n


def create_account(page, username: str, name: str, role: str, password: str) -> None:
    form = page.locator("form.new-user")
    form.get_by_label("Tên đăng nhập").fill(username)
    form.get_by_label("Họ và tên").fill(name)
    form.get_by_label("Vai trò").select_option(label=role)
    form.get_by_label("Mật khẩu").fill(password)
    form.get_by_role("button", name="Tạo tài khoản").click()


def test_an_admin_creates_a_broadcaster_who_then_logs_in(web_system, open_page):
    page = open_page("quantri")
    go_to_section(page, "Tài khoản")
    expect(page.get_by_role("heading", name="Tài khoản", exact=True)).to_be_visible()
    create_account(page, "lan.nguyen", "Nguyễn Thị Lan", "phát thanh viên", NEW_PASSWORD)
    assert page.get_by_role("status").inner_text() == "Đã tạo tài khoản lan.nguyen."
    row = page.locator("li[data-user='lan.nguyen']")
    assert "Nguyễn Thị Lan" in row.inner_text()
    assert "phát thanh viên" in row.inner_text()
    user = user_row(web_system, "lan.nguyen")
    assert (user.role, user.display_name, user.active) == ("broadcaster", "Nguyễn Thị Lan", True)
    assert fits_width(page)
    screenshot(page, "admin-users")
    desktop = open_page("quantri", viewport=DESKTOP)
    desktop.goto(page.url)
    screenshot(desktop, "admin-users")

    lan = open_page()
    log_in(lan, web_system.cluster.url, "lan.nguyen", NEW_PASSWORD)
    expect(lan.get_by_role("navigation").get_by_role("link", name="Soạn tin")).to_be_visible()
    assert "Nguyễn Thị Lan" in lan.locator(".who").inner_text()


def test_a_taken_name_and_a_short_password_are_refused_next_to_the_fields(web_system, open_page):
    users_before = count(web_system, User)
    page = open_page("quantri")
    page.goto(f"{web_system.cluster.url}/admin/users")
    with page.expect_response("**/admin/users") as answer:
        create_account(page, "phatthanh", "Trùng tên", "phê duyệt", "ngan")
    assert answer.value.status == 422
    form = page.locator("form.new-user")
    assert form.get_by_label("Tên đăng nhập").get_attribute("aria-invalid") == "true"
    assert page.locator("#username-error").inner_text() == "Tên đăng nhập này đã có người dùng."
    assert page.locator("#password-error").inner_text() == "Mật khẩu cần ít nhất 8 ký tự."
    assert form.get_by_label("Họ và tên").input_value() == "Trùng tên"  # kept as typed
    assert form.get_by_label("Vai trò").input_value() == "approver"
    create_account(page, "có dấu", "", "phê duyệt", NEW_PASSWORD)
    assert "chữ không dấu" in page.locator("#username-error").inner_text()
    assert count(web_system, User) == users_before
    assert user_row(web_system, "phatthanh").role == "broadcaster"


def test_a_locked_account_is_logged_out_and_cannot_log_in_again(web_system, open_page):
    admin = open_page("quantri")
    admin.goto(f"{web_system.cluster.url}/admin/users")
    create_account(admin, "tam.khoa", "Trần Văn Tâm", "phê duyệt", NEW_PASSWORD)
    victim = open_page()
    log_in(victim, web_system.cluster.url, "tam.khoa", NEW_PASSWORD)
    tam = user_row(web_system, "tam.khoa")
    assert count(web_system, WebSession, WebSession.user_id == tam.id) == 1

    row = admin.locator("li[data-user='tam.khoa']")
    row.get_by_text("Sửa tài khoản tam.khoa").click()
    row.get_by_role("button", name="Khoá tài khoản").click()
    assert "Đã khoá tài khoản tam.khoa" in admin.get_by_role("status").inner_text()
    assert user_row(web_system, "tam.khoa").active is False
    assert count(web_system, WebSession, WebSession.user_id == tam.id) == 0
    victim.goto(f"{web_system.cluster.url}/")
    assert "/login" in victim.url
    victim.get_by_label("Tên đăng nhập").fill("tam.khoa")
    victim.get_by_label("Mật khẩu").fill(NEW_PASSWORD)
    victim.get_by_role("button", name="Đăng nhập").click()
    assert victim.get_by_role("alert").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."

    # unlocked, with a new password and another role, they are back
    row = admin.locator("li[data-user='tam.khoa']")
    row.get_by_text("Sửa tài khoản tam.khoa").click()
    row.get_by_role("button", name="Mở khoá tài khoản").click()
    row = admin.locator("li[data-user='tam.khoa']")
    row.get_by_text("Sửa tài khoản tam.khoa").click()
    row.get_by_label("Vai trò").select_option(label="phát thanh viên")
    row.get_by_role("button", name="Đổi vai trò").click()
    row = admin.locator("li[data-user='tam.khoa']")
    row.get_by_text("Sửa tài khoản tam.khoa").click()
    row.get_by_label("Mật khẩu mới").fill("ngan")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    row = admin.locator("li[data-user='tam.khoa']")
    assert row.get_by_role("alert").inner_text() == "Mật khẩu cần ít nhất 8 ký tự."
    row.get_by_label("Mật khẩu mới").fill("mat-khau-thu-hai")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    tam = user_row(web_system, "tam.khoa")
    assert (tam.active, tam.role) == (True, "broadcaster")
    log_in(open_page(), web_system.cluster.url, "tam.khoa", "mat-khau-thu-hai")


def test_an_admin_cannot_lock_or_demote_themselves(web_system, open_page):
    page = open_page("quantri")
    page.goto(f"{web_system.cluster.url}/admin/users")
    row = page.locator("li[data-user='quantri']")
    row.get_by_text("Sửa tài khoản quantri").click()
    with page.expect_response("**/active") as answer:
        row.get_by_role("button", name="Khoá tài khoản").click()
    assert answer.value.status == 409
    row = page.locator("li[data-user='quantri']")
    refusal = row.get_by_role("alert").inner_text()
    assert refusal == "Bạn không thể tự khoá tài khoản của chính mình."
    row.get_by_label("Vai trò").select_option(label="phê duyệt")
    row.get_by_role("button", name="Đổi vai trò").click()
    row = page.locator("li[data-user='quantri']")
    assert "quyền quản trị" in row.get_by_role("alert").inner_text()
    me = user_row(web_system, "quantri")
    assert (me.active, me.role) == (True, "admin")


def test_other_roles_get_403_on_the_admin_pages(web_system, open_page):
    for account in ("phatthanh", "pheduyet"):
        page = open_page(account)
        assert page.get_by_role("link", name="Nhật ký").count() == 0
        for path in ("/admin/users", "/admin/audit"):
            response = page.goto(f"{web_system.cluster.url}{path}")
            assert response is not None
            assert response.status == 403
            assert "không có quyền" in page.get_by_role("alert").inner_text()


def test_the_audit_log_shows_logins_and_account_changes_newest_first(web_system, open_page):
    page = open_page("quantri")
    page.goto(f"{web_system.cluster.url}/admin/users")
    create_account(page, "kiem.tra", "Lê Kiểm Tra", "phê duyệt", NEW_PASSWORD)
    go_to_section(page, "Nhật ký")
    expect(page.get_by_role("heading", name="Nhật ký hoạt động")).to_be_visible()
    first = page.locator("table.audit tbody tr").first
    assert first.get_attribute("data-action") == "user.create"  # the newest on top
    assert "kiem.tra" in first.inner_text()
    assert "Tạo tài khoản" in first.inner_text()
    assert page.locator("tr[data-action='login']").count() >= 1
    assert fits_width(page)
    screenshot(page, "admin-audit")

    page.get_by_label("Người thực hiện").select_option("quantri")
    page.get_by_label("Hành động").select_option("login")
    page.get_by_role("button", name="Lọc").click()
    rows = page.locator("table.audit tbody tr")
    logins = count(
        web_system, AuditEntry, AuditEntry.actor == "quantri", AuditEntry.action == "login"
    )
    assert rows.count() == min(logins, 50)
    assert all(a == "login" for a in rows.evaluate_all("rs => rs.map(r => r.dataset.action)"))
    assert "Đăng nhập" in rows.first.inner_text()
    desktop = open_page("quantri", viewport=DESKTOP)
    desktop.goto(f"{web_system.cluster.url}/admin/audit")
    screenshot(desktop, "admin-audit")
