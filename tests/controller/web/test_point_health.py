"""A point's health on its page and a marker in the list, in a real browser at phone width,
from a state the point sends through the real broker and controller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from node_agent.version import installed_version
from protocol.messages import Health, NodeState
from protocol.topics import node_topic
from tests.support import all_online, publish_as, wait_for
from tests.support.web import fits_width, screenshot

GB = 1_000_000_000
HOT = Health(
    uptime_s=3 * 86_400 + 4 * 3600 + 17 * 60,
    cpu_temp_c=84.6,
    disk_free_bytes=int(1.1 * GB),
    disk_total_bytes=int(14.6 * GB),
    memory_available_bytes=612_000_000,
    memory_total_bytes=3_900_000_000,
    clock_synced=True,
    clock_offset_ms=12.4,
    clock_source="chrony",
    cell_signal_pct=67,
    cell_technology="lte",
)


def send_as_point(web_system, node: str, health: Health, ahead_s: float = 0.0) -> None:
    """The point's own account publishes its state, as its agent does (which is stopped, so
    its heartbeat does not replace this one), stamped by a clock ``ahead_s`` off."""
    config = web_system.node_config(node)
    state = NodeState(
        node_id=node,
        status="online",
        at=datetime.now(UTC) + timedelta(seconds=ahead_s),
        agent_version=installed_version(),
        volume=70,
        health=health,
    )
    rc = publish_as(
        web_system,
        node,
        config["broker_password"],
        node_topic(node, "state"),
        state.model_dump_json().encode(),
    )
    assert rc == 0


def warnings_of(web_system, node: str) -> list[str]:
    nodes = web_system.http().get("/api/v1/nodes").json()
    return [str(code) for n in nodes if n["id"] == node for code in n["warnings"]]


def test_a_hot_point_with_a_full_card_is_warned_on_its_page_and_in_the_list(web_system, open_page):
    wait_for(lambda: all_online(web_system), 30, "all four points online")
    node = web_system.node_ids[0]
    web_system.cluster.stop_node(node)
    page = open_page("phatthanh")
    page.goto(f"{web_system.cluster.url}/nodes")
    page.evaluate("window.notReloaded = true")
    send_as_point(web_system, node, HOT)
    wait_for(lambda: warnings_of(web_system, node) == ["hot", "disk"], 30, "the hot report")

    # the list marks it live, without a reload
    marker = page.locator(f'li.node-row[data-node-id="{node}"] [data-field="warnings"]')
    expect(marker).to_be_visible(timeout=30_000)
    expect(marker).to_contain_text("Cần kiểm tra: 2")
    signal = page.locator(f'li.node-row[data-node-id="{node}"] [data-field="signal_text"]')
    expect(signal).to_have_text("4G 67%")  # not "wired": the point has a modem
    assert page.evaluate("window.notReloaded") is True

    page.goto(f"{web_system.cluster.url}/nodes/{node}")
    health = page.locator("section#health")
    expect(health.get_by_role("heading")).to_have_text("Tình trạng máy")
    items = health.locator(".health-warnings li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Quá nóng: CPU 85 °C")
    expect(items.nth(0)).to_contain_text("thoáng khí")
    expect(items.nth(1)).to_contain_text("Thẻ nhớ sắp đầy: chỉ còn 1,1 GB (8%)")
    health.get_by_text("Chi tiết kỹ thuật").click()  # the figures are a technician's, folded
    facts = dict(
        zip(
            health.locator("dt").all_inner_texts(),
            health.locator("dd").all_inner_texts(),
            strict=True,
        )
    )
    assert facts == {
        "Chạy liên tục": "3 ngày 4 giờ",
        "Nhiệt độ CPU": "85 °C",
        "Thẻ nhớ còn trống": "1,1 GB / 14,6 GB (8%)",
        "Bộ nhớ (RAM) còn trống": "612 MB / 3,9 GB (16%)",
        "Đồng hồ": "đã đồng bộ giờ, lệch +12 ms so với máy chủ giờ",
        "Sóng 4G": "67% (LTE)",
    }
    assert fits_width(page)
    screenshot(page, "point-health")

    # in English too
    page.get_by_role("link", name="English").click()
    expect(items.nth(0)).to_contain_text("Too hot: CPU at 85 °C")

    # cooled down and cleaned up: the warnings go, the page says all is well
    send_as_point(
        web_system, node, HOT.model_copy(update={"cpu_temp_c": 55.0, "disk_free_bytes": 9 * GB})
    )
    wait_for(lambda: warnings_of(web_system, node) == [], 30, "the good report")
    page.reload()
    expect(page.locator("section#health .health-ok")).to_contain_text("Nothing needs attention")
    web_system.cluster.start_node(node)


def test_a_point_whose_clock_is_ten_minutes_behind_says_so_in_plain_words(web_system, open_page):
    """The controller compares the time on each fresh state with its own: a point 10 min
    behind is told apart from chrony's own judgement, first on its page, and it clears."""
    wait_for(lambda: all_online(web_system), 30, "all four points online")
    node = web_system.node_ids[1]
    web_system.cluster.stop_node(node)
    send_as_point(web_system, node, HOT.model_copy(update={"cpu_temp_c": 50.0}), ahead_s=-605)
    wait_for(lambda: warnings_of(web_system, node)[:1] == ["clock_behind"], 30, "the judgement")
    page = open_page("pheduyet")  # the broadcaster chose English above
    page.goto(f"{web_system.cluster.url}/nodes/{node}")
    first = page.locator("section#health .health-warnings li").first
    expect(first).to_contain_text("Đồng hồ sai: chạy chậm 10 phút 5 giây so với máy chủ.")
    expect(first).to_contain_text("giữ lại các bản tin hẹn giờ cho đến khi đồng hồ đúng")
    assert fits_width(page)
    screenshot(page, "point-clock-wrong")
    send_as_point(web_system, node, HOT.model_copy(update={"cpu_temp_c": 50.0}))
    wait_for(lambda: "clock_behind" not in warnings_of(web_system, node), 30, "set right")
    web_system.cluster.start_node(node)


def test_the_running_agents_report_this_machines_health(web_system):
    """The real agents' states carry what they measure here: uptime, memory, disk, version."""
    wait_for(lambda: all_online(web_system), 30, "all four points online")

    def reported() -> list[dict[str, Any]]:
        nodes = web_system.http().get("/api/v1/nodes").json()
        running = [n for n in nodes if n["status"] != "offline"]
        return [n["health"] for n in running if n["health"]] if len(running) == 4 else []

    wait_for(lambda: len(reported()) == 4, 30, "four health reports")
    for health in reported():
        assert health["uptime_s"] > 0
        assert 0 < health["memory_available_bytes"] <= health["memory_total_bytes"]
        assert 0 < health["disk_free_bytes"] <= health["disk_total_bytes"]
    versions = {n["agent_version"] for n in web_system.http().get("/api/v1/nodes").json()}
    assert versions == {installed_version()}
