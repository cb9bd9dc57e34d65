"""A villager's whole path on a 360 px phone, no login: the village page → "Nhận tin cảnh báo qua
SMS" → the number → the code the SMS brought → subscribed, and back to the village page. A real
broker and controller (its channel worker sends the SMS to a recording HTTP gateway, as to a
provider's), driven by Chromium; no cookie is ever set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import SystemUnderTest, make_system, wait_for
from tests.support.recorder import Answer, Recorder, recorder
from tests.support.web import PHONE, fits_width, screenshot


@pytest.fixture(scope="module")
def gateway() -> Iterator[Recorder]:
    with recorder() as made:
        made.default = Answer(body='{"code": "00"}')
        yield made


@pytest.fixture(scope="module")
def sms_system(
    tmp_path_factory: pytest.TempPathFactory, gateway: Recorder
) -> Iterator[SystemUnderTest]:
    """Broker and controller only: nothing here needs a loudspeaker."""
    http = {"url": gateway.url + "/sms", "success_field": "code", "success_value": "00"}
    sms = {"provider": "http", "http": http}
    sut = make_system(tmp_path_factory.mktemp("subscribe"), nodes=2, channels={"sms": sms})
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    yield sut
    sut.cluster.stop_all()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_a_villager_subscribes_from_the_village_page_on_a_phone(
    sms_system: SystemUnderTest, gateway: Recorder, phone: Any
) -> None:
    base = sms_system.cluster.url
    phone.goto(f"{base}/listen")
    phone.get_by_role("link", name="Thôn Đông").click()
    phone.wait_for_url("**/listen/thon-dong")
    assert phone.get_by_role("link", name="Báo loa hỏng").count() == 1
    assert fits_width(phone)
    phone.get_by_role("link", name="Nhận tin cảnh báo qua SMS").click()
    phone.get_by_role("heading", name=re.compile("Thôn Đông")).wait_for()
    assert fits_width(phone)
    screenshot(phone, "subscribe-number")

    phone.get_by_label("Số điện thoại").fill("0912 345 678")
    phone.get_by_role("button").click()
    phone.locator("#code").wait_for()
    sent = wait_for(lambda: gateway.received, 30, "the confirmation SMS at the gateway")
    (sms,) = sent
    assert sms.json()["to"] == "84912345678"
    code = re.search(r"(\d{6})$", sms.json()["text"])
    assert code
    assert fits_width(phone)
    screenshot(phone, "subscribe-code")

    phone.locator("#code").fill(code[1])
    phone.get_by_role("button").click()
    phone.get_by_role("status").filter(has_text="Đã đăng ký").wait_for()
    assert fits_width(phone)
    screenshot(phone, "subscribe-done")
    phone.get_by_role("link", name=re.compile("Về trang nghe lại")).click()
    phone.wait_for_url("**/listen/thon-dong")
    assert phone.context.cookies() == []  # no page on the way set one
