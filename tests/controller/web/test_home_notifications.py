"""Each role's home page and the notifications pages in the logged-in web app without a
browser (real app, real SQLite, real sessions): counts agree with the lists they head and
link to, a rejection shows its reason, opening a notification reads it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from controller.broadcast import approval
from controller.broadcast.approval import BroadcastRequest, When, Where
from controller.broadcast.bulletins import send
from controller.models import Bulletin, Node, Notification, PushSubscription, User, now
from schedules import LOCAL
from tests.controller.commune import Commune
from tests.controller.web.conftest import Login

NOW = BroadcastRequest(where=Where(zones=["thon-dong"]), when=When(kind="now"))


def submit(commune: Commune, title: str) -> str:
    bulletin = commune.bulletin(status="draft")
    with commune.db.session() as s:
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        row = s.get_one(Bulletin, bulletin.id)
        row.title = title
        approval.submit(s, author, row, NOW)
    return bulletin.id


def section(html: str, name: str) -> str:
    found = re.search(rf'<section class="home-block" id="home-{name}".*?</section>', html, re.S)
    return found[0] if found else ""


def test_the_approver_home_counts_what_the_review_page_lists(commune: Commune, login: Login):
    ids = [submit(commune, "Lịch tiêm phòng"), submit(commune, "Họp dân thôn Đông")]
    approver, _ = login("pheduyet")
    home = approver.get("/").text
    waiting = section(home, "waiting")
    assert "Chờ duyệt: 2 bản tin" in waiting
    assert [f"/review#b-{i}" for i in ids] == re.findall(r'href="(/review#b-\w+)"', waiting)
    review = approver.get("/review").text
    assert len(re.findall(r'<article class="card review-item"', review)) == 2
    # the bell and the home page's unread list say the same
    assert 'data-unread="2"' in home
    assert "Thông báo: 2 chưa đọc" in section(home, "notes")
    broadcaster, _ = login("phatthanh")
    assert section(broadcaster.get("/").text, "waiting") == ""  # not theirs to approve


def test_the_broadcaster_home_shows_a_rejection_with_its_reason_and_the_way_to_edit(
    commune: Commune, login: Login
):
    bulletin_id = submit(commune, "Thu thuế đất")
    with commune.db.session() as s:
        reviewer = s.scalars(select(User).where(User.username == "pheduyet")).one()
        approval.reject(s, reviewer, s.get_one(Bulletin, bulletin_id), "Sai hạn nộp thuế")
    broadcaster, _ = login("phatthanh")
    rejected = section(broadcaster.get("/").text, "rejected")
    assert "bị từ chối: 1" in rejected
    assert "Lý do: Sai hạn nộp thuế" in rejected
    assert f'href="/bulletins/{bulletin_id}">Sửa và gửi lại' in rejected


def test_offline_points_say_for_how_long(commune: Commune, login: Login):
    with commune.db.session() as s:
        s.execute(update(Node).values(status="online"))
        node = s.scalars(select(Node).order_by(Node.id)).first()
        assert node is not None
        node.status, node.last_seen = "offline", now() - timedelta(hours=3, minutes=5)
        name = node.name
    page = login("pheduyet")[0].get("/").text
    assert re.search(rf"{re.escape(name)}</a>\s*<span class=\"muted\">mất liên lạc 3 giờ", page)
    assert '<strong data-count="offline">1</strong>' in page


def test_opening_a_notification_reads_it_and_goes_to_what_it_is_about(
    commune: Commune, login: Login
):
    bulletin_id = submit(commune, "Cắt điện thôn Tây")
    approver, csrf = login("pheduyet")
    listing = approver.get("/notifications").text
    assert "Bản tin “Cắt điện thôn Tây” đang chờ anh/chị duyệt" in listing
    [opened] = re.findall(r'href="(/notifications/\d+/open)"', listing)
    answer = approver.get(opened)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/review#b-{bulletin_id}"
    assert 'data-unread="0"' in approver.get("/notifications").text
    # someone else's notification opens nothing of theirs and reads nothing
    admin, _ = login("admin")
    assert admin.get(opened).headers["location"] == "/notifications"
    with commune.db.session() as s:
        admin_id = s.scalars(select(User.id).where(User.username == "admin")).one()
        unread = select(Notification).where(
            Notification.user_id == admin_id, Notification.read_at.is_(None)
        )
        assert len(s.scalars(unread).all()) == 1
    assert admin.post("/notifications/read", data={"csrf": "wrong"}).status_code == 403
    assert approver.post("/notifications/read", data={"csrf": csrf}).status_code == 303


def test_a_push_subscription_is_kept_for_its_user_and_a_bad_one_changes_nothing(
    commune: Commune, login: Login
):
    client, csrf = login("phatthanh")
    headers = {"X-CSRF-Token": csrf, "X-Requested-With": "fetch"}
    good = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "keys": {"p256dh": "B" + "A" * 86, "auth": "C" * 22},
    }
    refused = client.post("/notifications/push", json={"endpoint": "x"}, headers=headers)
    assert refused.status_code == 422
    assert "không hợp lệ" in refused.json()["detail"]
    with commune.db.session() as s:
        assert s.scalars(select(PushSubscription)).all() == []
    assert client.post("/notifications/push", json=good, headers=headers).status_code == 200
    assert client.post("/notifications/push", json=good, headers=headers).status_code == 200
    with commune.db.session() as s:
        assert len(s.scalars(select(PushSubscription)).all()) == 1
    gone = client.post("/notifications/push/remove", json=good, headers=headers)
    assert gone.status_code == 200
    with commune.db.session() as s:
        assert s.scalars(select(PushSubscription)).all() == []


def test_today_lists_a_timed_bulletin_still_to_air_with_its_status(
    commune: Commune, login: Login, dispatcher
):
    current = now()
    at = current + timedelta(minutes=1)
    if at.astimezone(LOCAL).date() != current.astimezone(LOCAL).date():
        at = current - timedelta(minutes=1)  # just before midnight: one that is airing now
    bulletin = commune.bulletin(status="sent", play_at=at)
    with commune.db.session() as s:
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        send(
            s,
            dispatcher,
            author,
            s.get_one(Bulletin, bulletin.id),
            targets=commune.nodes_in("thon-tay"),
        )
    today = section(login("phatthanh")[0].get("/").text, "today")
    assert "Hôm nay còn phát: 1 bản tin" in today
    assert f'{at.astimezone(LOCAL):%H:%M}</span> <a href="/bulletins/{bulletin.id}">' in today
    assert "Thôn Tây" in today
    assert "2 điểm chờ phát" in today


def test_the_reading_preview_follows_the_voice_and_refuses_an_unknown_one(
    commune: Commune, login: Login
):
    broadcaster, csrf = login("phatthanh")
    headers = {"X-CSRF-Token": csrf, "X-Requested-With": "fetch", "Accept": "application/json"}
    text = {"text": "Hỗ trợ 105 hộ"}
    north = broadcaster.post("/bulletins/speech-text", data=text, headers=headers)
    assert north.json()["spoken"] == "Hỗ trợ một trăm linh năm hộ"
    south = broadcaster.post(
        "/bulletins/speech-text", data={**text, "voice": "vi-vn-x-south"}, headers=headers
    )
    assert south.json()["spoken"] == "Hỗ trợ một trăm lẻ năm hộ"
    wrong = broadcaster.post(
        "/bulletins/speech-text", data={**text, "voice": "en"}, headers=headers
    )
    assert wrong.status_code == 422
    assert "giọng đọc" in wrong.text
