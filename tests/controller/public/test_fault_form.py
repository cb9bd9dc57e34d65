"""The villager's fault report over HTTP: the form, what it stores, and every refusal storing
nothing (bad input, a stale or foreign token, another site, too much, too often)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from controller.models import FaultReport, now
from controller.public import fault_reports as faults
from tests.controller.commune import Commune
from tests.controller.public.conftest import Phone, stored, token_of

URL = "/listen/thon-dong/report"


def fill(client, url: str = URL, **fields: str) -> dict[str, str]:
    """The form's fields as the form served to ``client`` would post them."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return {"token": token_of(page.text), "point": "unknown", "problem": "silent", **fields}


def test_the_form_lists_the_villages_points_and_plain_choices_without_cookie_or_script(
    commune: Commune, phone: Phone
):
    page = phone().get(URL)
    assert page.status_code == 200
    assert "set-cookie" not in page.headers
    assert "<script" not in page.text
    for node_id in commune.nodes_in("thon-dong"):
        assert f'value="{node_id}"' in page.text
    for node_id in commune.nodes_in("thon-tay"):
        assert node_id not in page.text
    for words in ("Không rõ loa nào", "Không nghe được", "Tiếng rè hoặc nhỏ", "Phát vào giờ lạ"):
        assert words in page.text
    assert "Loa kêu suốt" in page.text
    assert "Which loudspeaker?" in phone().get(f"{URL}?lang=en").text


def test_a_report_is_stored_with_the_point_and_text_but_not_the_address(
    commune: Commune, phone: Phone
):
    client = phone("10.0.0.7")
    node = commune.nodes_in("thon-dong")[0]
    fields = fill(client, point=node, problem="noisy", note="loa ở xóm 3  rè", phone="0912 345 678")
    answer = client.post(URL, data=fields)
    assert answer.status_code == 303
    assert "set-cookie" not in answer.headers
    thanks = client.get(answer.headers["location"])
    assert thanks.status_code == 200
    assert "Đã nhận báo cáo" in thanks.text
    with commune.db.session() as s:
        row = s.scalars(select(FaultReport)).one()
        assert (row.node_id, row.problem, row.note, row.phone) == (
            node,
            "noisy",
            "loa ở xóm 3 rè",
            "0912345678",
        )
        assert row.zone.code == "thon-dong"
        assert row.resolved_at is None
        assert "10.0.0.7" not in row.sender  # a keyed hash: counts the sender, names nobody


def test_a_report_sent_in_english_is_answered_in_english(commune: Commune, phone: Phone):
    client = phone()
    page = client.get(f"{URL}?lang=en")
    fields = {"token": token_of(page.text), "point": "unknown", "problem": "odd_time", "lang": "en"}
    answer = client.post(URL, data=fields)
    assert answer.headers["location"].endswith("?lang=en")
    assert "Report received" in client.get(answer.headers["location"]).text
    refused = client.post(URL, data={**fields, "problem": "?"})
    assert "Not sent yet" in refused.text
    assert stored(commune) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"problem": ""}, "problem"),
        ({"problem": "noisy<script>"}, "problem"),
        ({"point": "khong-co"}, "point"),
        ({"point": ""}, "point"),
        ({"note": "rè " * 200}, "note"),
        ({"phone": "gọi tôi"}, "phone"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_bad_input_is_shown_on_the_form_again_and_nothing_is_stored(
    commune: Commune, phone: Phone, fields, field
):
    client = phone()
    answer = client.post(URL, data=fill(client, **{"note": "vẫn giữ ghi chú", **fields}))
    assert answer.status_code == 422
    assert "Chưa gửi được" in answer.text
    assert f'id="form-error" data-field="{field}"' in answer.text
    assert answer.text.count('aria-invalid="true"') == 1
    assert "vẫn giữ ghi chú" in answer.text or field == "note"  # what was typed is kept
    assert stored(commune) == 0


def test_a_point_of_another_village_is_refused(commune: Commune, phone: Phone):
    client = phone()
    other = commune.nodes_in("thon-tay")[0]
    assert client.post(URL, data=fill(client, point=other)).status_code == 422
    assert stored(commune) == 0


def test_an_oversized_body_or_a_file_is_refused_and_nothing_is_stored(
    commune: Commune, phone: Phone
):
    client = phone()
    big = client.post(URL, data=fill(client, note="x" * 20_000))
    assert big.status_code == 413
    assert "quá dài" in big.text
    with_file = client.post(URL, data=fill(client), files={"photo": ("a.jpg", b"\xff" * 100)})
    assert with_file.status_code == 400
    assert stored(commune) == 0


def test_an_unknown_village_is_a_404_page(commune: Commune, phone: Phone):
    client = phone()
    assert client.get("/listen/thon-khong-co/report").status_code == 404
    fields = fill(client)
    answer = client.post("/listen/thon-khong-co/report", data=fields)
    assert answer.status_code in (403, 404)  # its token was for thon-dong
    assert stored(commune) == 0


def test_a_post_without_a_valid_token_is_refused_with_the_form_kept(commune: Commune, phone: Phone):
    client = phone("10.0.0.2")
    fields = fill(client, note="loa cổng chợ tắt")
    for token in ("", "123.abc", fields["token"] + "0"):
        answer = client.post(URL, data={**fields, "token": token})
        assert answer.status_code == 403
        assert "Biểu mẫu đã cũ" in answer.text
        assert "loa cổng chợ tắt" in answer.text  # what was typed is kept
        assert token_of(answer.text) != token  # and a fresh token given
    assert stored(commune) == 0


def test_a_token_is_bound_to_its_village_its_address_and_its_time(commune: Commune, phone: Phone):
    fetched_elsewhere = fill(phone("203.0.113.9"))  # e.g. by a hostile page's server
    assert phone("10.0.0.3").post(URL, data=fetched_elsewhere).status_code == 403
    other_village = fill(phone("10.0.0.3"), url="/listen/thon-tay/report")
    assert phone("10.0.0.3").post(URL, data=other_village).status_code == 403
    key = faults.secret(commune.config)
    old = faults.form_token(key, "thon-dong", "10.0.0.3", now() - timedelta(hours=3))
    stale = {**fill(phone("10.0.0.3")), "token": old}
    assert phone("10.0.0.3").post(URL, data=stale).status_code == 403
    ahead = faults.form_token(key, "thon-dong", "10.0.0.3", now() + timedelta(hours=1))
    assert phone("10.0.0.3").post(URL, data={**stale, "token": ahead}).status_code == 403
    assert stored(commune) == 0


def test_a_post_from_another_site_is_refused(commune: Commune, phone: Phone):
    client = phone()
    answer = client.post(URL, data=fill(client), headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert "trang của xã" in answer.text
    assert stored(commune) == 0
    same = client.post(URL, data=fill(client), headers={"Origin": "http://testserver"})
    assert same.status_code == 303
    assert stored(commune) == 1


def test_one_address_sends_at_most_five_an_hour_then_gets_a_clear_429(
    commune: Commune, phone: Phone
):
    client = phone("10.0.0.9")
    for _ in range(faults.PER_SENDER):
        assert client.post(URL, data=fill(client)).status_code == 303
    refused = client.post(URL, data=fill(client))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "chỉ gửi được 5 báo cáo" in refused.text
    assert "thử lại sau" in refused.text
    assert stored(commune) == faults.PER_SENDER
    neighbour = phone("10.0.0.10")  # another phone is not held back by this one
    assert neighbour.post(URL, data=fill(neighbour)).status_code == 303


def test_posts_at_once_from_one_address_still_stop_at_five(commune: Commune, phone: Phone):
    client = phone("10.0.0.11")
    forms = [fill(client, note=f"cùng lúc {n}") for n in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda f: client.post(URL, data=f).status_code, forms))
    assert sorted(answers) == [303] * faults.PER_SENDER + [429] * (12 - faults.PER_SENDER)
    assert stored(commune) == faults.PER_SENDER


def test_a_village_takes_at_most_twenty_an_hour_from_everyone(commune: Commune, phone: Phone):
    for n in range(faults.PER_ZONE):
        client = phone(f"10.1.0.{n}")
        assert client.post(URL, data=fill(client)).status_code == 303
    late = phone("10.2.0.1")
    assert late.post(URL, data=fill(late)).status_code == 429
    assert stored(commune) == faults.PER_ZONE
    elsewhere = phone("10.2.0.1")
    tay = "/listen/thon-tay/report"
    assert elsewhere.post(tay, data=fill(elsewhere, url=tay)).status_code == 303
