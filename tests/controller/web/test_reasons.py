"""Why a play did not happen, in plain words, from the raw reasons the controller and nodes give."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.delivery.state import expiry_reason
from controller.models import Delivery, Node
from controller.reports.bulletin import held_reason
from controller.web.reasons import reason_text

DEADLINE = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # 19:30 in Asia/Ho_Chi_Minh


def test_an_offline_point_reads_in_local_time():
    node = Node(id="n", name="Loa", zone_id=1, status="offline", last_seen=DEADLINE)
    raw = expiry_reason(Delivery(status="queued"), node, DEADLINE)
    assert reason_text("expired", raw, "vi") == (
        "Điểm loa mất kết nối từ 19:30 23/11/2026; "
        "bản tin hết hạn lúc 19:30 23/11/2026 trước khi kịp phát."
    )
    never = Node(id="n", name="Loa", zone_id=1, status="offline")
    assert reason_text("expired", expiry_reason(Delivery(), never, DEADLINE), "en").startswith(
        "The point has never connected"
    )


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        ("failed", "emergency audio did not arrive in time", "Âm thanh cảnh báo không tải về kịp."),
        (
            "failed",
            "audio output failed: device busy",
            "Thiết bị phát âm thanh tại điểm loa bị lỗi.",
        ),
        (
            "cancelled",
            "pre-empted by emergency abc.r1",
            "Bị ngắt để nhường cho tin mức «khẩn cấp».",
        ),
        ("cancelled", "Dừng trên trang web bởi lan", "Đã dừng theo lệnh."),  # by its status
        ("rejected", "bad signature", "Điểm loa từ chối lệnh (lệnh sai chữ ký hoặc quá hạn)."),
        ("finished", "", ""),
        ("started", "", ""),
    ],
)
def test_node_reasons_and_statuses_have_plain_words(status, raw, expected):
    assert reason_text(status, raw, "vi") == expected


def test_a_bulletin_held_for_a_wrong_clock_says_so():
    raw = (
        "missed: not started by 2026-12-06 22:17:21+07:00 "
        "(held: this point's clock is 10 min 0 s behind the controller's)"
    )
    assert reason_text("failed", raw, "vi") == (
        "Lỡ giờ: đồng hồ của điểm loa sai (chậm 10 phút 0 giây so với máy chủ) nên bản tin "
        "được giữ lại, và đã hết hạn trước khi đồng hồ được chỉnh đúng."
    )
    ahead = raw.replace("behind", "ahead of")
    assert "(10 min 0 s ahead of the controller's)" in reason_text("failed", ahead, "en")
    assert reason_text("failed", "missed: not started by 2026-12-06", "en").startswith("Missed:")
    waiting = "held: this point's clock is 10 min 0 s ahead of the controller's"
    assert reason_text("ready", waiting, "vi").startswith(
        "Đang giữ lại: đồng hồ của điểm loa sai (nhanh 10 phút 0 giây so với máy chủ)."
    )


@pytest.mark.parametrize(
    ("status", "play_at", "offset_ms", "expected"),
    [
        (
            "ready",
            DEADLINE,
            -600_000.0,
            "held: this point's clock is 10 min 0 s behind the controller's",
        ),
        (
            "queued",
            DEADLINE,
            75_000.0,
            "held: this point's clock is 1 min 15 s ahead of the controller's",
        ),
        ("ready", DEADLINE, 2_000.0, ""),  # right enough
        ("ready", None, 600_000.0, ""),  # "now": no clock involved, never held
        ("finished", DEADLINE, 600_000.0, ""),  # played: nothing waits
    ],
)
def test_a_timed_play_waiting_at_a_point_with_a_wrong_clock_says_it_is_held(
    status, play_at, offset_ms, expected
):
    node = Node(id="n", name="Loa", zone_id=1, status="online", clock_offset_ms=offset_ms)
    assert held_reason(Delivery(status=status, play_at=play_at), node) == expected
