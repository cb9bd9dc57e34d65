"""The points page shows each point's version and update, and each rollout's progress, in
Vietnamese first; the rows are what the controller's intake writes when points report."""

from __future__ import annotations

from playwright.sync_api import expect

from controller.models import Node, NodeUpdate, Release
from tests.support import SystemUnderTest, all_online, db_of, wait_for
from tests.support.web import DESKTOP, fits_width, screenshot

REASON = "0.2.0 exited with code 2 before coming online"


def rollout_rows(web_system: SystemUnderTest) -> list[str]:
    """Release 0.1.0 (what the simulated points run) done on one point; 0.2.0 pending on one,
    rolled back on one, failed on the last."""
    nodes = web_system.node_ids
    db = db_of(web_system)
    with db.session() as s:
        for version, sha in (("0.1.0", "a" * 64), ("0.2.0", "b" * 64)):
            s.add(
                Release(
                    version=version,
                    filename=f"loalang-{version}-py3-none-any.whl",
                    sha256=sha,
                    size=400_000,
                    signature="c2lnbmVk",
                    added_by="admin",
                )
            )
        s.flush()
        for node_id, version, status, reason in (
            (nodes[0], "0.1.0", "updated", ""),
            (nodes[1], "0.2.0", "pending", ""),
            (nodes[2], "0.2.0", "rolled_back", REASON),
            (nodes[3], "0.2.0", "failed", "bad signature: not signed by this node's controller"),
        ):
            s.add(
                NodeUpdate(
                    node_id=node_id, version=version, command_id="", status=status, reason=reason
                )
            )
        running = {s.get_one(Node, n).agent_version for n in nodes}
    db.engine.dispose()
    assert running == {"0.1.0"}
    return nodes


def test_the_points_page_shows_versions_updates_and_rollout_progress(web_system, open_page):
    wait_for(lambda: all_online(web_system), 30, "all four points online")
    nodes = rollout_rows(web_system)
    for viewport in (None, DESKTOP):
        page = open_page("pheduyet", **({"viewport": viewport} if viewport else {}))
        page.goto(f"{web_system.cluster.url}/nodes")
        rollouts = page.locator("section.rollouts li")
        expect(rollouts).to_have_count(2)
        expect(rollouts.nth(0)).to_have_text(
            "Bản 0.2.0: 0 / 3 điểm đã chạy, 1 đang chờ, 2 lỗi hoặc đã quay lại bản cũ"
        )
        expect(rollouts.nth(1)).to_have_text(
            "Bản 0.1.0: 1 / 1 điểm đã chạy, 0 đang chờ, 0 lỗi hoặc đã quay lại bản cũ"
        )
        rows = {n: page.locator(f'li.node-row[data-node-id="{n}"]') for n in nodes}
        for row in rows.values():
            expect(row.locator('[data-field="version"]')).to_have_text("0.1.0")
        expect(rows[nodes[0]].locator(".update-state")).to_have_count(0)  # done: nothing to say
        expect(rows[nodes[1]].locator(".update-state dd")).to_have_text("đang chờ lên bản 0.2.0")
        expect(rows[nodes[2]].locator(".update-state dd")).to_have_text(
            f"bản 0.2.0 không chạy được, đã quay lại bản cũ: {REASON}"
        )
        expect(rows[nodes[3]].locator(".update-state dd.warn")).to_contain_text(
            "không lên được bản 0.2.0: bad signature"
        )
        assert fits_width(page)
        screenshot(page, "nodes-rollout")
    page.goto(f"{web_system.cluster.url}/nodes/{nodes[2]}")
    expect(page.locator(".update-state dd")).to_contain_text("đã quay lại bản cũ")
