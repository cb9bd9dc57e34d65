"""A refused move on the programme page always shows why: next to the item when the page shows
it, at the top when it does not (the item is gone, or not on that day), never nowhere. Real app,
real SQLite, a logged-in approver, no browser."""

from __future__ import annotations

import re

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
