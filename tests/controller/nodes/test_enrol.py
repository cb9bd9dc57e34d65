"""One-time enrolment codes through ``POST /api/v1/enrol``: served once, only in time, only
to who is not guessing, audited; a refusal changes nothing. Real app, real SQLite file, the
broker's real password file (no broker needed: nothing here connects)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from controller.api.app import create_app
from controller.config import ControllerConfig
from controller.db import Database
from controller.models import AuditEntry, EnrolmentCode, EnrolmentFailure, now
from controller.nodes import broker, enrolment
from controller.nodes.bundle import BundleOptions
from controller.nodes.provision import create_node
from node_agent.config import NodeConfig
from tests.support.provisioning import commune


@pytest.fixture
def config(tmp_path) -> ControllerConfig:
    return commune(tmp_path / "ctl")


@pytest.fixture
def client(config) -> Iterator[TestClient]:
    app = create_app(config, start_dispatcher=False)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def new_code(config: ControllerConfig, name: str = "Loa 1") -> enrolment.Issued:
    node_id = create_node(config, name=name, zone="thon-dong")
    return enrolment.issue(config, node_id, BundleOptions(), issued_by="tester")


def audit_actions(config: ControllerConfig) -> list[str]:
    db = Database(config.db_url)
    with db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    db.engine.dispose()
    return actions


def test_a_code_is_served_once_and_spent(config, client):
    issued = new_code(config)
    # typed on a Pi: lower case, spaces instead of dashes
    typed = issued.code.lower().replace("-", " ")
    first = client.post("/api/v1/enrol", json={"code": typed})
    assert first.status_code == 200, first.text
    assert first.json()["node_id"] == issued.node_id
    files = first.json()["files"]
    assert sorted(files) == ["ca.crt", "controller.pub", "node.json"]
    node = NodeConfig.model_validate_json(files["node.json"])
    assert node.node_id == issued.node_id
    assert node.broker_ca_pem == files["ca.crt"]
    passwd = broker.BrokerFiles(config.broker_dir).password_file.read_text()
    assert passwd.count(f"{issued.node_id}:") == 1

    again = client.post("/api/v1/enrol", json={"code": issued.code})
    assert again.status_code == 403
    assert again.json()["code"] == "enrol.used_code"
    assert "already used" in again.json()["detail"]
    assert broker.BrokerFiles(config.broker_dir).password_file.read_text() == passwd
    assert audit_actions(config)[-3:] == ["enrol.code_issued", "node.enrolled", "enrol.refused"]


def test_a_code_sent_in_clear_is_refused_and_not_spent(config):
    issued = new_code(config)
    app = create_app(config, start_dispatcher=False)
    with TestClient(app, base_url="http://testserver") as plain:
        refused = plain.post("/api/v1/enrol", json={"code": issued.code})
        assert refused.status_code == 403
        assert refused.json()["code"] == "enrol.https_only"
        behind_proxy = plain.post(
            "/api/v1/enrol",
            json={"code": issued.code},
            headers={"X-Forwarded-Proto": "https"},  # from a client, not a trusted proxy
        )
        assert behind_proxy.status_code == 403
    with TestClient(app, base_url="https://testserver") as tls:
        assert tls.post("/api/v1/enrol", json={"code": issued.code}).status_code == 200


def test_only_the_codes_hash_is_stored(config):
    issued = new_code(config)
    db = Database(config.db_url)
    with db.session() as s:
        rows = list(s.scalars(select(EnrolmentCode)))
    db.engine.dispose()
    assert [r.code_sha256 for r in rows] == [enrolment.digest(issued.code)]
    assert issued.code.replace("-", "") not in str(rows[0].options)
    assert rows[0].expires_at - rows[0].created_at == timedelta(hours=24)


def test_an_expired_code_is_refused_and_changes_nothing(config, client):
    issued = new_code(config)
    db = Database(config.db_url)
    with db.session() as s:
        s.execute(update(EnrolmentCode).values(expires_at=now() - timedelta(seconds=1)))
    db.engine.dispose()
    passwd = broker.BrokerFiles(config.broker_dir).password_file.read_text()
    refused = client.post("/api/v1/enrol", json={"code": issued.code})
    assert refused.status_code == 403
    assert refused.json()["code"] == "enrol.expired_code"
    assert broker.BrokerFiles(config.broker_dir).password_file.read_text() == passwd


def test_a_new_code_for_a_point_makes_its_earlier_one_lapse(config, client):
    first = new_code(config)
    second = enrolment.issue(config, first.node_id, BundleOptions(), issued_by="tester")
    assert client.post("/api/v1/enrol", json={"code": first.code}).status_code == 403
    assert client.post("/api/v1/enrol", json={"code": second.code}).status_code == 200


@pytest.mark.parametrize(
    "body", [{"code": "AAAA-BBBB-CCCC-DDDD"}, {"code": ""}, {}, {"code": "x" * 65}]
)
def test_bad_or_unknown_codes_are_refused_with_a_clear_message(client, body):
    refused = client.post("/api/v1/enrol", json=body)
    assert refused.status_code in (403, 422)
    assert refused.json()["detail"]


def test_guessing_from_one_address_is_stopped_even_with_a_right_code(config, client):
    issued = new_code(config)
    for _ in range(enrolment.MAX_FAILURES_PER_ADDRESS):
        assert client.post("/api/v1/enrol", json={"code": enrolment.new_code()}).status_code == 403
    throttled = client.post("/api/v1/enrol", json={"code": issued.code})
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    assert "too many" in throttled.json()["detail"]
    assert "enrol.throttled" in audit_actions(config)
    db = Database(config.db_url)
    with db.session() as s:
        row = s.get(EnrolmentCode, enrolment.digest(issued.code))
        assert row is not None
        assert row.used_at is None  # not spent
        # the window passes: the code works again
        s.execute(update(EnrolmentFailure).values(at=now() - enrolment.WINDOW))
    db.engine.dispose()
    assert client.post("/api/v1/enrol", json={"code": issued.code}).status_code == 200


def test_guessing_from_many_addresses_is_stopped_overall(config):
    issued = new_code(config)
    db = Database(config.db_url)
    try:
        for i in range(enrolment.MAX_FAILURES_OVERALL):
            with pytest.raises(enrolment.CodeRefusedError):
                enrolment.redeem(config, db, enrolment.new_code(), f"198.51.100.{i}")
        with pytest.raises(enrolment.ThrottledError):
            enrolment.redeem(config, db, issued.code, "203.0.113.9")
        with db.session() as s:
            enrolment.prune(s)  # housekeeping keeps what still counts
            assert s.query(EnrolmentFailure).count() == enrolment.MAX_FAILURES_OVERALL
    finally:
        db.engine.dispose()
