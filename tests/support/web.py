"""Helpers for the browser tests: Debian's Chromium and how it starts, the test accounts, logging
in, screenshots and the phone-width check."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from controller.auth import create_user, hash_password
from controller.db import Database
from controller.models import User
from tests.support import SystemUnderTest

CHROMIUM = os.environ.get("LOA_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
    "--use-fake-device-for-media-stream",  # a synthetic microphone: there is no sound card
]
ARTEFACTS = Path(os.environ.get("LOA_ARTEFACTS", "var/artefacts/screenshots"))
PASSWORD = "mat-khau-thu-nghiem"
ACCOUNTS = {"quantri": "admin", "phatthanh": "broadcaster", "pheduyet": "approver"}
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def add_accounts(sut: SystemUnderTest) -> None:
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        for name, role in ACCOUNTS.items():
            user = s.scalar(select(User).where(User.username == name))
            if user is None:
                create_user(s, name, PASSWORD, role)
            else:  # the demo made it with a random password
                user.password_hash, user.role = hash_password(PASSWORD), role
    db.engine.dispose()


def log_in(page, base_url: str, account: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Tên đăng nhập").fill(account)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base_url}/")


def screenshot(page, name: str) -> Path:
    """Saved under var/artefacts/screenshots (the CI artefacts), named by page and width."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = ARTEFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fits_width(page) -> bool:
    """Nothing wider than the screen: no sideways scrolling of the whole page on a phone."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def go_to_section(page, name: str) -> None:
    """Tap a section in the menu, opening "Thêm" first when it is folded in there."""
    menu = page.get_by_role("navigation", name="Chức năng")
    link = menu.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        menu.locator("summary").click()
    link.click()
