"""Browser tests: Playwright driving Debian's Chromium against the real controller, broker and
simulated nodes (processes started as `loa demo` starts them). Playwright never downloads a browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.api.app import create_app
from controller.models import User
from controller.web import sessions
from tests.controller.commune import Commune
from tests.support import SystemUnderTest, make_system
from tests.support.web import CHROMIUM, CHROMIUM_ARGS, PHONE, add_accounts, log_in

Login = Callable[[str], tuple[TestClient, str]]


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


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """Four simulated nodes in two villages (Thôn Đông, Thôn Tây), the accounts above."""
    yield from running_system(tmp_path_factory.mktemp("web"), nodes=4)


def running_system(root: Path, *, nodes: int) -> Iterator[SystemUnderTest]:
    """A started system with the test accounts; the controller's and nodes' tracebacks are
    printed when it stops."""
    sut = make_system(root, nodes=nodes)
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


@pytest.fixture
def login(commune: Commune) -> Iterator[Login]:
    """``login("admin")``: a client with that account's session, and its CSRF token."""
    app = create_app(commune.config, start_dispatcher=False)
    clients: list[TestClient] = []

    def make(username: str) -> tuple[TestClient, str]:
        with commune.db.session() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            token = sessions.open_session(s, commune.config, user)
        with commune.db.session() as s:
            row = sessions.session_for(s, commune.config, token)
            csrf = row.csrf if row else None
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        client.cookies.set(sessions.COOKIE, token)
        clients.append(client)
        assert csrf is not None
        return client, csrf

    yield make
    for client in clients:
        client.__exit__(None, None, None)
