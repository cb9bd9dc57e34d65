"""The listen-again pages over HTTP: what they show, in which language, how light, and that
they set no cookie."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from fastapi.testclient import TestClient

from controller.config import ControllerConfig
from controller.db import Database
from controller.models import now
from schedules import LOCAL
from tests.controller.public.village import put_on_air, raise_alert

LONG_TEXT = "Thông báo về việc tổ chức tiêm chủng mở rộng cho trẻ em dưới năm tuổi. " * 300


def test_the_village_page_shows_what_aired_there_with_its_audio_text_and_local_time(
    client: TestClient, config: ControllerConfig
) -> None:
    heard = datetime(2026, 12, 5, 23, 40, tzinfo=LOCAL)  # 16:40 UTC
    bid = put_on_air(config, config_db(client), heard_at=heard, text="Mời bà con đưa trẻ đi tiêm.")
    page = client.get("/listen/thon-dong")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Lịch tiêm phòng cho trẻ" in html
    assert "05/12/2026 23:40" in html
    assert "Mời bà con đưa trẻ đi tiêm." in html
    assert f'src="/listen/audio/{bid}.opus"' in html
    assert f'src="/listen/audio/{bid}.mp3"' in html
    assert 'href="/listen/thon-dong/report"' in html
    assert "public" in page.headers["cache-control"]


def test_another_village_does_not_show_it_and_the_commune_page_does_with_an_index(
    client: TestClient, config: ControllerConfig
) -> None:
    put_on_air(config, config_db(client), zones=("thon-tay",), title="Chỉ Thôn Tây")
    assert "Chỉ Thôn Tây" not in client.get("/listen/thon-dong").text
    commune = client.get("/listen").text
    assert "Chỉ Thôn Tây" in commune
    for code in ("thon-dong", "thon-tay", "thon-bac"):
        assert f'href="/listen/{code}"' in commune


def test_no_cookie_is_set_or_read(client: TestClient, config: ControllerConfig) -> None:
    put_on_air(config, config_db(client))
    client.cookies.set("loa_lang", "en")  # the web app's choice does not leak in
    for path in ("/listen", "/listen/thon-dong", "/listen/feed.xml", "/listen/khong-co"):
        answer = client.get(path)
        assert "set-cookie" not in answer.headers, path
    assert "Bản tin đã phát" in client.get("/listen").text


def test_english_by_the_address_and_links_keep_it(
    client: TestClient, config: ControllerConfig
) -> None:
    put_on_air(config, config_db(client))
    html = client.get("/listen?lang=en").text
    assert "Bulletins aired" in html
    assert "Bản tin đã phát" not in html
    assert 'href="/listen/thon-dong?lang=en"' in html
    assert 'lang="en"' in html
    assert "Bản tin đã phát" in client.get("/listen?lang=xx").text


def test_twenty_long_bulletins_stay_under_50_kb_with_nothing_external(
    client: TestClient, config: ControllerConfig
) -> None:
    db = config_db(client)
    for n in range(20):
        put_on_air(config, db, title=f"Bản tin số {n} " + "dài " * 60, text=LONG_TEXT)
    raise_alert(config, db, "Bão số 3 đổ bộ, " * 20)
    html = client.get("/listen/thon-dong").text
    assert html.count("<article") == 20
    assert len(html.encode()) < 50 * 1024
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_an_active_alert_comes_first_in_words_not_colour_alone(
    client: TestClient, config: ControllerConfig
) -> None:
    put_on_air(config, config_db(client))
    wrong = raise_alert(config, config_db(client), "Sơ tán nhầm thôn", state="cancelled")
    raise_alert(config, config_db(client), "Sơ tán ngay thôn Đông", replaces=wrong)
    html = client.get("/listen/thon-dong").text
    alert = html.index('class="alert active"')
    assert alert < html.index("<main")
    assert "CẢNH BÁO KHẨN CẤP" in html[alert:]
    assert "Đính chính" in html
    assert "Sơ tán nhầm thôn" in html
    assert 'class="alert active"' not in client.get("/listen/thon-tay").text


def test_an_unknown_village_is_a_404_page(client: TestClient) -> None:
    answer = client.get("/listen/khong-co")
    assert answer.status_code == 404
    assert "khong-co" in answer.text


def test_the_upcoming_timed_bulletin_is_announced(
    client: TestClient, config: ControllerConfig
) -> None:
    later = (now() + timedelta(hours=5)).astimezone(LOCAL)
    put_on_air(config, config_db(client), title="Họp dân tối nay", delivery="ready", play_at=later)
    html = client.get("/listen/thon-dong").text
    main = html[html.index("Sắp phát") :]
    assert "Họp dân tối nay" in main
    assert later.strftime("%d/%m/%Y %H:%M") in main
    assert "Họp dân tối nay" not in html[: html.index("Sắp phát")]


def config_db(client: TestClient) -> Database:
    """The app's own database handle."""
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    return db


def test_a_cancelled_alert_is_said_to_be_cancelled_not_in_force(
    client: TestClient, config: ControllerConfig
) -> None:
    raise_alert(config, config_db(client), "Báo nhầm lũ", state="cancelled")
    html = client.get("/listen/thon-dong").text
    assert 'class="alert cancelled"' in html
    assert "ĐÃ HỦY CẢNH BÁO" in html
    assert 'class="alert active"' not in html
    assert "ALERT CANCELLED" in client.get("/listen/thon-dong?lang=en").text


def test_the_regular_broadcast_times_of_the_village(
    client: TestClient, config: ControllerConfig
) -> None:
    from controller import programme
    from tests.support.programme import programme as make_programme
    from tests.support.programme import slot

    with config_db(client).session() as s:
        programme.save(
            s,
            make_programme(
                slots=[
                    slot(id="sang", name="Bản tin sáng", zones=["thon-dong", "thon-tay"]),
                    slot(
                        id="chieu",
                        name="Bản tin chiều",
                        start=time(17, 30),
                        weekdays=frozenset({0, 2}),
                        zones=["thon-dong"],
                    ),
                ]
            ),
        )
    dong = client.get("/listen/thon-dong").text
    assert "06:00 – Bản tin sáng (hằng ngày)" in dong
    assert "17:30 – Bản tin chiều (Thứ Hai, Thứ Tư)" in dong
    tay = client.get("/listen/thon-tay?lang=en").text
    assert "06:00 – Bản tin sáng (every day)" in tay
    assert "Bản tin chiều" not in tay
