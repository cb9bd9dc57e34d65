"""Logging in: roles, throttling, CSRF, language, session cookies — in a real browser."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from controller.db import Database
from controller.models import AuditEntry, LoginFailure
from tests.support.web import DESKTOP, PASSWORD, fits_width, log_in, screenshot


def test_login_shows_the_home_page_in_vietnamese(web_system, open_page):
    page = open_page("phatthanh")
    assert page.locator("html").get_attribute("lang") == "vi"
    expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
    expect(page.get_by_role("link", name="KHẨN CẤP")).to_be_visible()
    # a broadcaster composes but does not approve or manage accounts
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Soạn tin")).to_be_visible()
    assert nav.get_by_role("link", name="Duyệt tin").count() == 0
    assert nav.get_by_role("link", name="Tài khoản").count() == 0
    assert fits_width(page)
    screenshot(page, "home")
    cookie = next(c for c in page.context.cookies() if c["name"] == "loa_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"


def test_wrong_password_is_refused_next_to_the_form_and_audited(web_system, open_page):
    page = open_page()
    page.goto(f"{web_system.cluster.url}/login")
    screenshot(page, "login")
    page.get_by_label("Tên đăng nhập").fill("pheduyet")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."
    assert page.get_by_label("Tên đăng nhập").input_value() == "pheduyet"
    assert page.url.endswith("/login")
    db = Database(web_system.cluster.config.db_url)
    with db.session() as s:
        failed = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "login.failed", AuditEntry.actor == "pheduyet")
        )
    db.engine.dispose()
    assert failed == 1


def test_repeated_failures_are_throttled_even_with_the_right_password(web_system, open_page):
    page = open_page()
    for _ in range(5):
        page.goto(f"{web_system.cluster.url}/login")
        page.get_by_label("Tên đăng nhập").fill("quantri")
        page.get_by_label("Mật khẩu").fill("doan-mo")
        page.get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{web_system.cluster.url}/login")
    page.get_by_label("Tên đăng nhập").fill("quantri")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    assert "thử lại sau" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/login")
    # the throttle is per account: others still log in
    log_in(open_page(), web_system.cluster.url, "pheduyet")
    db = Database(web_system.cluster.config.db_url)
    with db.session() as s:  # let the rest of the module log in as admin again
        s.execute(delete(LoginFailure).where(LoginFailure.username == "quantri"))
    db.engine.dispose()


def test_pages_need_a_login_and_come_back_after_it(web_system, open_page):
    page = open_page()
    page.goto(f"{web_system.cluster.url}/nodes")
    assert page.url.endswith("/login?next=/nodes")
    page.get_by_label("Tên đăng nhập").fill("phatthanh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{web_system.cluster.url}/nodes")


def test_a_post_without_the_csrf_token_changes_nothing(web_system, open_page):
    page = open_page("phatthanh")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=web_system.cluster.url, cookies=cookies) as c:
        r = c.post("/logout", data={"csrf": "forged"})
    assert r.status_code == 403
    assert "Biểu mẫu đã hết hạn" in r.text
    page.goto(f"{web_system.cluster.url}/")
    expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()  # still logged in


def test_english_is_one_tap_away_and_logout_ends_the_session(web_system, open_page):
    page = open_page("pheduyet", viewport=DESKTOP)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot(page, "home-en")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto(f"{web_system.cluster.url}/")
    assert "/login" in page.url
