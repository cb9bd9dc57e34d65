"""Browser tests: Playwright driving Debian's Chromium against the real controller, broker and
simulated nodes (processes started as `loa demo` starts them). Playwright never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from controller.auth import create_user, hash_password
from controller.db import Database
from controller.models import User
from tests.support import SystemUnderTest, make_system

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


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `make test` installs it with apt-get")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def speaking_page(browser, web_system, speech_wav) -> Iterator[Any]:
    """A second browser whose fake microphone says the speech recording (rather than the
    default beeps: a real broadcaster speaks), logged in as the broadcaster."""
    speaking = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={speech_wav}"],
    )
    try:
        context = speaking.new_context(
            viewport=PHONE,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        log_in(page, web_system.cluster.url, "phatthanh")
        yield page
    finally:
        speaking.close()


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


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """Four simulated nodes in two villages (Thôn Đông, Thôn Tây), the accounts above."""
    sut = make_system(tmp_path_factory.mktemp("web"), nodes=4)
    add_accounts(sut)
    sut.cluster.start_all()
    yield sut
    sut.cluster.stop_all()
    for log in sut.cluster.logs_dir.glob("*.log"):
        if "Traceback" in log.read_text(errors="replace"):
            print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def open_page(browser, web_system) -> Iterator[Callable[..., object]]:
    """A fresh browser context (own cookies) per call; ``open_page("phatthanh")`` logs in."""
    contexts = []

    def factory(account: str | None = None, *, viewport: dict[str, int] = PHONE) -> object:
        context = browser.new_context(
            viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        if account is not None:
            log_in(page, web_system.cluster.url, account)
        return page

    yield factory
    for context in contexts:
        context.close()


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
