"""A refused move on the programme page always shows why: next to the item when the page shows
it, at the top when it does not (the item is gone, or not on that day), never nowhere. Real app,
real SQLite, a logged-in approver, no browser."""

from __future__ import annotations

import re

from controller.auth import issue_token
from tests.controller.commune import Commune
from tests.controller.web.conftest import Login


def test_a_refused_move_of_an_item_not_on_the_page_says_why_at_the_top(
    commune: Commune, login: Login
):
    approver, csrf = login("pheduyet")
    answer = approver.post(
        "/programme/items/khong-co/move",
        data={"csrf": csrf, "direction": "up", "day": "2026-12-07"},
    )
    assert answer.status_code == 409
    shown = re.findall(r'<p class="error" role="alert">(.*?)</p>', answer.text, re.S)
    assert shown == ["Không tìm thấy tin này trong chương trình (có thể vừa có người gỡ)."]


def test_a_form_field_past_its_length_gets_a_page_that_says_so_not_json(
    commune: Commune, login: Login
):
    approver, csrf = login("pheduyet")
    answer = approver.post(
        "/programme/items/khong-co/move",
        data={"csrf": csrf, "direction": "up", "day": "2026-12-07" + "x" * 500},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "quá dài hoặc không đúng, nên chưa có gì thay đổi" in answer.text
    with commune.db.session() as s:
        token = issue_token(s, commune.user("pheduyet"))
    api = approver.post(
        "/api/v1/alerts",
        data={"text": "x" * 6000},  # past the API's own max_length
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert api.headers["content-type"].startswith("application/json")  # the API keeps JSON
