"""Every page of each role on a 360 px phone, in a real browser: nothing wider than the screen,
every link and button big enough for a thumb, every section reachable from the menu, badges
readable, and no technician's figures in a broadcaster's view (they sit in the folded
"Chi tiết kỹ thuật")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from controller import notifications
from controller.broadcast import drafts
from controller.db import Database
from controller.models import Bulletin, MessageTemplate, Node, User
from tests.support import SystemUnderTest
from tests.support.web import PHONE, fits_width, log_in, screenshot

TAP_PX = 44
# What a broadcaster should never have to read: loudness units, decibels, the speech engine,
# clock offsets; node ids are checked against the commune's own.
TECHNICAL = re.compile(r"LUFS|\bdBT?P?\b|espeak|gTTS|lệch đồng hồ|clock offset", re.IGNORECASE)

# Every visible link and button (and the fold's summary) that is smaller than a thumb on both
# sides; a link inside a sentence is exempt, as WCAG 2.5.8 exempts it.
SMALL_TARGETS = """() => [...document.querySelectorAll('a[href], button, summary, select')]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter((el) => !(el.closest('p') && el.closest('p').textContent.trim()
                    !== el.textContent.trim()))
  .map((el) => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.height < TAP && r.width < TAP || r.height < 24 || r.width < 24)
  .map(([el, r]) => `${el.tagName} "${el.textContent.trim().slice(0, 30)}" `
    + `${Math.round(r.width)}x${Math.round(r.height)}`)""".replace("TAP", str(TAP_PX))

# WCAG 2.x relative luminance and contrast ratio of each badge's text on its background.
BADGE_CONTRAST = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => v / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  return [...document.querySelectorAll('.badge')]
    .filter((el) => el.getClientRects().length)
    .map((el) => {
      const s = getComputedStyle(el);
      let bg = s.backgroundColor, up = el;
      while (/rgba\\(.*, 0\\)|transparent/.test(bg) && up.parentElement) {
        up = up.parentElement; bg = getComputedStyle(up).backgroundColor;
      }
      if (/rgba\\(.*, 0\\)|transparent/.test(bg)) bg = 'rgb(255, 255, 255)';
      return [el.className, ratio(s.color, bg)];
    });
}"""


@pytest.fixture(scope="module")
def content(web_system: SystemUnderTest, speech_wav) -> dict[str, str]:
    """A bulletin sent to one village (its page and report), the broadcaster's spoken draft (its
    edit form and delete confirmation), a stored template, and the points' ids."""
    r = web_system.post_bulletin(speech_wav, zones="thon-dong")
    assert r.status_code == 201, r.text
    config = web_system.cluster.config
    db = Database(config.db_url)
    with db.session() as s:
        node = s.scalars(select(Node).order_by(Node.id)).first()
        assert node is not None
        node_id = node.id
        ids = "|".join(re.escape(i) for i in s.scalars(select(Node.id)))
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        draft = drafts.make_draft(
            s, config, author, recording=None, text=DRAFT_TEXT, voice="vi", title=""
        ).id
        template = s.scalars(select(MessageTemplate.id).order_by(MessageTemplate.id)).first()
        assert template is not None, "the templates are seeded"
    db.engine.dispose()
    return {
        "bulletin": r.json()["id"],
        "draft": draft,
        "template": str(template),
        "node": node_id,
        "node_ids": ids,
    }


DRAFT_TEXT = "Thông báo: chiều nay 15 giờ họp dân tại nhà văn hóa thôn Đông."
CALENDAR = [f"/programme/calendar?view={v}" for v in ("day", "week", "month")]


def pages_of(role: str, content: dict[str, str]) -> list[str]:
    b, node = content["bulletin"], content["node"]
    keepers = [  # those who keep the programme and the templates
        "/programme/setup",
        "/programme/slots/new",
        "/programme/repeats/new",
        "/templates",
        "/templates/new",
        f"/templates/{content['template']}",
    ]
    common = [
        "/",
        "/notifications",
        *CALENDAR,
        "/bulletins",
        f"/bulletins/{b}",
        f"/bulletins/{b}/report",
        "/programme",
        "/programme/relays",
        "/on-air",
        "/nodes",
        f"/nodes/{node}",
        "/faults",
        "/reports",
        "/admin/subscriptions",
    ]
    draft = content["draft"]
    extra = {
        "phatthanh": ["/bulletins/new", f"/bulletins/{draft}", f"/bulletins/{draft}/delete"],
        "pheduyet": ["/review", "/emergency", *keepers],
        "quantri": ["/admin/users", "/admin/audit", "/emergency", "/bulletins/new", *keepers],
    }
    return common + extra[role]


@pytest.fixture(scope="module")
def phone(browser, web_system) -> Iterator[Any]:
    """One phone-sized context; each test logs in as its role."""
    context = browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def check_page(page: Any, path: str, *, broadcaster: bool, node_ids: str) -> list[str]:
    problems = []
    if not fits_width(page):
        problems.append("wider than the screen")
    if small := page.evaluate(SMALL_TARGETS):
        problems.append(f"small tap targets: {small}")
    faint = [f"{cls} {ratio:.2f}" for cls, ratio in page.evaluate(BADGE_CONTRAST) if ratio < 4.5]
    if faint:
        problems.append(f"badge contrast under 4.5:1: {faint}")
    if broadcaster:
        shown = page.evaluate("document.body.innerText")  # a closed <details> is not shown
        words = TECHNICAL.findall(shown) + re.findall(rf"\b(?:{node_ids})\b", shown)
        if words:
            problems.append(f"technical words in a broadcaster's view: {sorted(set(words))}")
    return [f"{path}: {p}" for p in problems]


@pytest.mark.parametrize("role", ["phatthanh", "pheduyet", "quantri"])
def test_every_page_fits_a_phone_and_a_thumb(web_system, phone, content, role):
    base = web_system.cluster.url
    phone.context.clear_cookies()
    log_in(phone, base, role)
    problems = []
    for path in pages_of(role, content):
        answer = phone.goto(f"{base}{path}")
        assert answer is not None, path
        assert answer.ok, f"{path}: {answer.status}"
        problems += check_page(
            phone, path, broadcaster=role == "phatthanh", node_ids=content["node_ids"]
        )
    assert not problems, "\n".join(problems)


SECTIONS = {
    "phatthanh": {"/", "/bulletins/new", "/bulletins", "/programme/calendar"},
    "pheduyet": {"/", "/review", "/bulletins", "/programme/calendar", "/templates"},
    "quantri": {"/", "/bulletins/new", "/review", "/bulletins", "/programme/calendar",
                "/templates", "/admin/users", "/admin/audit"},
}  # fmt: skip
EVERYONE = {"/on-air", "/programme", "/nodes", "/faults", "/reports", "/admin/subscriptions"}
BOXES = """(els) => els.map((el) => { const r = el.getBoundingClientRect();
  return {x: r.x, y: r.y, w: r.width, h: r.height, text: el.textContent.trim()}; })"""


def a_notification_for(sut: SystemUnderTest, username: str, bulletin_id: str) -> None:
    db = Database(sut.cluster.config.db_url)
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        notifications.rejected(s, s.get_one(Bulletin, bulletin_id), "Xem lại giờ phát.")
        assert user.id == s.get_one(Bulletin, bulletin_id).created_by
    db.engine.dispose()


@pytest.mark.parametrize("role", ["phatthanh", "quantri"])
def test_the_phone_menu_is_one_row_and_reaches_every_section(web_system, phone, content, role):
    """Four main sections and "Thêm" in one row under the header; "Thêm" opens the rest;
    the page starts high, and the notification badge stays in sight."""
    base = web_system.cluster.url
    if role == "phatthanh":
        a_notification_for(web_system, role, content["draft"])
    phone.context.clear_cookies()
    log_in(phone, base, role)
    menu = phone.locator("nav.main")
    row = menu.locator(":scope > a, :scope > details > summary").evaluate_all(BOXES)
    assert len(row) == 5, row
    assert len({round(b["y"]) for b in row}) == 1, f"one row: {row}"
    for b in row:
        assert b["x"] >= 0, b
        assert b["x"] + b["w"] <= PHONE["width"], b
        assert min(b["h"], b["w"]) >= TAP_PX, b
    assert row[-1]["text"].startswith("Thêm")
    # the content begins under one header row and one menu row
    assert phone.locator("main").bounding_box()["y"] <= 120
    bell = phone.locator("#notify-badge")
    assert bell.is_visible()
    if role == "phatthanh":
        assert bell.locator(".count").inner_text() == "1"
    # the rest is folded away until "Thêm" is opened, and then inside the screen
    more = menu.locator("details.more")
    assert not more.locator("a").first.is_visible()
    more.locator("summary").click()
    every = menu.get_by_role("link")
    reached = {link.get_attribute("href") for link in every.all()}
    assert reached == SECTIONS[role] | EVERYONE
    for b in every.evaluate_all(BOXES):
        assert b["x"] >= 0, b
        assert b["x"] + b["w"] <= PHONE["width"], b
        assert b["y"] + b["h"] <= PHONE["height"], b
        assert b["h"] >= TAP_PX, b
    screenshot(phone, f"menu-open-{role}")
    # a tap on the page folds it again; a section inside it marks "Thêm" as where one is
    phone.locator(".top .commune").click()  # plain text, not a link
    assert not more.locator("a").first.is_visible()
    more.locator("summary").click()
    more.get_by_role("link", name="Điểm loa").click()
    phone.wait_for_url(f"{base}/nodes")
    assert "current" in (menu.locator("summary").get_attribute("class") or "")
    assert fits_width(phone)


def test_the_login_page_fits_too(browser, web_system):
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{web_system.cluster.url}/login")
        assert check_page(page, "/login", broadcaster=True, node_ids="loa-khong-co") == []
    finally:
        context.close()


def test_the_api_page_and_the_icon_need_no_internet(browser, web_system):
    """/docs loads Swagger UI from the controller itself; any other host is cut off."""
    base = web_system.cluster.url
    context = browser.new_context(viewport=PHONE)
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    try:
        page.goto(f"{base}/docs")
        page.locator(".opblock").first.wait_for()  # the operations, drawn by Swagger UI
        assert "/api/v1/bulletins" in page.locator("#swagger-ui").inner_text()
        assert outside == []
        page.goto(f"{base}/login")
        icon = page.locator('link[rel="icon"]').get_attribute("href")
        answer = page.request.get(f"{base}{icon}")
        assert answer.ok
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert page.request.get(f"{base}/favicon.ico").ok
    finally:
        context.close()
