"""An alert on SMS, Zalo and a notice board with the real controller, broker and nodes: the
gateway fails twice then takes the SMS, Zalo never answers, the board takes it at once; the
loudspeakers play regardless, and the alert's report shows each channel."""

from __future__ import annotations

from typing import Any

from controller.auth import create_user
from controller.emergency import subscriptions
from controller.emergency.channels.vault import load_vault
from tests.support import db_of, make_system, post_alert, wait_for
from tests.support.recorder import Answer, recorder


def test_a_failing_channel_is_retried_and_reported_while_the_loudspeakers_play(
    tmp_path, speech_wav
):
    with recorder() as server:
        channels = {
            "sms": {
                "provider": "http",
                "http": {"url": server.url + "/sms", "brandname": "XA MAU"},
            },
            "zalo": {"access_token": "t", "base_url": server.url + "/hang", "user_ids": ["z1"]},
            "boards": {"urls": [server.url + "/board"]},
            "retry": {"max_attempts": 3, "base_delay_s": 0.5, "max_delay_s": 2, "timeout_s": 1},
        }
        sut = make_system(tmp_path, nodes=2, channels=channels)
        db = db_of(sut)
        with db.session() as s:
            admin = create_user(s, "quantri-sms", "mat-khau-dai-12", "admin")
            subscriptions.add_with_consent(
                s,
                load_vault(sut.cluster.config.data_dir),
                admin,
                "thon-dong",
                "0912345678",
                method="paper",
            )
        db.engine.dispose()
        failures = [Answer(503, "busy"), Answer(503, "busy")]

        def answer_for(path: str) -> Answer:
            if path.startswith("/hang"):
                return Answer(hang=True)
            if path == "/sms" and failures:
                return failures.pop(0)
            return Answer()

        server.route = answer_for
        try:
            sut.cluster.start_all()
            resp = post_alert(sut, speech_wav, all="true")
            assert resp.status_code == 201, resp.text
            alert = resp.json()

            def report() -> dict[str, Any]:
                with sut.http() as c:
                    got: dict[str, Any] = c.get(f"/api/v1/alerts/{alert['id']}").json()
                return got

            def played() -> dict[str, Any] | None:
                got = report()
                return got if got["report"]["summary"]["completed"] == 2 else None

            during: dict[str, Any] = wait_for(played, 60, "the alert on both loudspeakers")
            assert {c["channel"] for c in during["channels"]} == {"sms", "zalo", "board"}

            def settled() -> dict[str, Any] | None:
                got = report()
                return got if all(c["pending"] == 0 for c in got["channels"]) else None

            done: dict[str, Any] = wait_for(settled, 60, "every channel settled")
        finally:  # its controller, broker and nodes must not outlive the test
            sut.cluster.stop_all()
    by = {c["channel"]: c for c in done["channels"]}
    assert (by["sms"]["sent"], by["sms"]["failed"]) == (1, 0)
    assert (by["board"]["sent"], by["zalo"]["failed"]) == (1, 1)
    assert by["zalo"]["reasons"] == [
        {"reason": "no answer from 127.0.0.1 in time (after 3 tries)", "count": 1}
    ]
    sms_calls = [r for r in server.received if r.path == "/sms"]
    assert len(sms_calls) == 3  # two 503s, then taken
    assert sms_calls[-1].json()["to"] == "84912345678"
    assert sms_calls[-1].json()["brandname"] == "XA MAU"
    assert len([r for r in server.received if r.path.startswith("/hang")]) == 3
    assert done["report"]["summary"]["completed"] == 2  # the loudspeakers were never held up
