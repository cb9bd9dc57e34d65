"""Releases on the controller: wheels checked, stored and signed; rollouts through the command
path (admin only, audited, never during an emergency); outcomes and progress from the points."""

from __future__ import annotations

import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from controller.api.app import create_app
from controller.auth import issue_token
from controller.backup.make import make_backup
from controller.backup.restore import restore
from controller.delivery import node_events
from controller.delivery.chunks import ChunkCache
from controller.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from controller.models import (
    Alert,
    AuditEntry,
    Node,
    NodeUpdate,
    OutboxCommand,
    Release,
    User,
    now,
)
from controller.releases.rollout import progress, start_rollout, target_nodes
from controller.releases.wheels import add_release
from protocol.messages import ChunkRequest, CommandAck, UpdateCommand, UpdateEvent
from protocol.releases import verify_release
from tests.support.wheels import ROOT, build_wheel


def _source(path: Path) -> str:
    return (ROOT / path).read_text()


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {v: build_wheel(out / v, v) for v in ("0.2.0", "0.3.0")}


def add(commune, wheel: Path) -> Release:
    with commune.db.session() as s:
        release = add_release(s, commune.key, commune.config.release_dir, wheel, "admin")
        s.flush()
        s.expunge(release)
    return release


def rows(commune, model) -> int:
    with commune.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_wheel_is_stored_by_sha256_and_signed_with_the_controller_key(commune, wheels):
    release = add(commune, wheels["0.2.0"])
    stored = commune.config.release_dir / f"{release.sha256}.whl"
    assert stored.read_bytes() == wheels["0.2.0"].read_bytes()
    from controller.releases.wheels import release_ref

    verify_release(release_ref(release), commune.key.public_key())
    assert add(commune, wheels["0.2.0"]).sha256 == release.sha256  # again: no change
    assert rows(commune, Release) == 1


def zip_as(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize(
    ("name", "files", "code"),
    [
        ("notes.whl", {}, "release.not_loalang_wheel"),
        ("loalang-0.4.0-py3-none-any.whl", None, "release.unreadable_wheel"),
        (
            "loalang-0.4.0-py3-none-any.whl",
            {"loalang-0.4.0.dist-info/METADATA": "Name: loalang\nVersion: 0.4.0\n"},
            "release.incomplete_wheel",
        ),
        (
            "loalang-0.4.0-py3-none-any.whl",
            {
                "loalang-0.4.0.dist-info/METADATA": "Name: other\nVersion: 0.4.0\n",
                "node_agent/agent.py": "",
            },
            "release.metadata_mismatch",
        ),
        (
            "loalang-0.4.0-py3-none-any.whl",
            {
                "loalang-0.4.0.dist-info/METADATA": "Name: loalang\nVersion: 0.5.0\n",
                "node_agent/agent.py": "",
            },
            "release.metadata_mismatch",
        ),
    ],
)
def test_a_bad_wheel_is_refused_and_nothing_is_stored(commune, tmp_path, name, files, code):
    path = tmp_path / name
    if files is None:
        path.write_bytes(b"not a zip at all")
    else:
        zip_as(path, files)
    with pytest.raises(InvalidInputError) as err:
        add(commune, path)
    assert err.value.code == code
    assert rows(commune, Release) == 0
    assert not commune.config.release_dir.exists() or not any(commune.config.release_dir.iterdir())


def test_a_version_with_other_contents_is_refused(commune, wheels, tmp_path):
    add(commune, wheels["0.2.0"])
    init = Path("node_agent/__init__.py")
    other = build_wheel(
        tmp_path, "0.2.0", replace={init.as_posix(): f"{_source(init)}\n# rebuilt\n"}
    )
    with pytest.raises(ConflictError, match="already a release with other contents"):
        add(commune, other)


def test_a_rollout_queues_one_signed_update_per_point(commune, wheels):
    release = add(commune, wheels["0.2.0"])
    targets = commune.nodes_in("thon-dong")
    with commune.db.session() as s:
        told = start_rollout(s, commune.key, commune.user("admin"), "0.2.0", targets)
    assert told == targets
    commands = commune.commands()
    assert sorted(node for node, _ in commands) == targets
    for _, body in commands:
        assert isinstance(body.command, UpdateCommand)
        assert body.command.release.sha256 == release.sha256
        verify_release(body.command.release, commune.key.public_key())
    with commune.db.session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "release.rollout")).all()
        assert [(a.actor, a.target, a.detail["nodes"]) for a in audit] == [
            ("admin", "0.2.0", targets)
        ]


def test_a_newer_rollout_withdraws_the_unanswered_older_one(commune, wheels):
    add(commune, wheels["0.2.0"])
    add(commune, wheels["0.3.0"])
    node = commune.nodes_in("thon-bac")
    with commune.db.session() as s:
        start_rollout(s, commune.key, commune.user("admin"), "0.2.0", node)
    with commune.db.session() as s:
        start_rollout(s, commune.key, commune.user("admin"), "0.3.0", node)
    [(_, body)] = commune.commands()
    assert isinstance(body.command, UpdateCommand)
    assert body.command.release.version == "0.3.0"


@pytest.mark.parametrize("username", ["phatthanh", "pheduyet"])
def test_only_an_admin_may_roll_out(commune, wheels, username):
    add(commune, wheels["0.2.0"])
    with commune.db.session() as s, pytest.raises(ForbiddenError):
        start_rollout(s, commune.key, commune.user(username), "0.2.0", commune.nodes_in("thon-bac"))
    assert rows(commune, OutboxCommand) == 0
    assert rows(commune, NodeUpdate) == 0


def test_no_rollout_starts_while_an_emergency_alert_is_active(commune, wheels):
    add(commune, wheels["0.2.0"])
    bulletin = commune.bulletin(priority="emergency")
    with commune.db.session() as s:
        s.add(
            Alert(
                id=uuid.uuid4().hex,
                bulletin_id=bulletin.id,
                state="active",
                text="Bão số 3",
                expires_at=now() + timedelta(hours=1),
                proposed_by=commune.user("admin").id,
            )
        )
    with commune.db.session() as s, pytest.raises(ConflictError, match="emergency alert"):
        start_rollout(s, commune.key, commune.user("admin"), "0.2.0", commune.nodes_in("thon-bac"))
    assert rows(commune, OutboxCommand) == 0


def test_unknown_release_zone_or_point_is_refused(commune, wheels):
    add(commune, wheels["0.2.0"])
    admin = commune.user("admin")
    with commune.db.session() as s:
        with pytest.raises(NotFoundError, match=r"no release 9\.9"):
            start_rollout(s, commune.key, admin, "9.9", commune.nodes_in("thon-bac"))
        with pytest.raises(NotFoundError, match="no zone"):
            target_nodes(s, every=False, zones=["thon-khong-co"], nodes=[])
        with pytest.raises(NotFoundError, match="no loudspeaker point"):
            start_rollout(s, commune.key, admin, "0.2.0", ["loa-khong-co"])
        with pytest.raises(InvalidInputError):
            start_rollout(s, commune.key, admin, "0.2.0", [])
    assert rows(commune, OutboxCommand) == 0


def test_outcomes_from_the_points_make_the_rollout_progress(commune, wheels):
    add(commune, wheels["0.2.0"])
    a, b, c, d = commune.nodes_in("thon-dong", "thon-tay")
    with commune.db.session() as s:
        start_rollout(s, commune.key, commune.user("admin"), "0.2.0", [a, b, c, d])
    sent = {node: body.command_id for node, body in commune.commands()}
    with commune.db.session() as s:
        node_events.take_event(s, a, UpdateEvent(node_id=a, outcome="updated", version="0.2.0"))
        s.get_one(Node, a).agent_version = "0.2.0"
        node_events.take_event(
            s,
            b,
            UpdateEvent(
                node_id=b,
                outcome="rolled_back",
                version="0.2.0",
                from_version="0.1.0",
                reason="0.2.0 exited with code 1 before coming online",
            ),
        )
        node_events.take_event(
            s,
            c,
            CommandAck(node_id=c, command_id=sent[c], accepted=False, reason="bad signature"),
        )
    with commune.db.session() as s:
        [p] = progress(s)
        assert (p.version, p.on_target, p.pending, p.failed, p.total) == ("0.2.0", 1, 1, 2, 4)
        assert s.get_one(NodeUpdate, b).reason == "0.2.0 exited with code 1 before coming online"
        assert s.get_one(NodeUpdate, c).status == "failed"
        assert s.get_one(NodeUpdate, d).status == "pending"


def test_the_wheel_is_served_in_chunks_like_audio(commune, wheels):
    release = add(commune, wheels["0.2.0"])
    cache = ChunkCache(commune.config.audio_dir, 1 << 20, release_dir=commune.config.release_dir)
    reply = cache.reply(ChunkRequest(sha256=release.sha256, offset=0, length=4096)).payload
    assert b'"type":"chunk"' in reply
    assert f'"total_size":{release.size}'.encode() in reply


def test_the_api_starts_a_rollout_as_an_admin_and_lists_its_progress(commune, wheels):
    add(commune, wheels["0.2.0"])
    with commune.db.session() as s:
        token = issue_token(s, s.get_one(User, commune.user("admin").id))
    app = create_app(commune.config, start_dispatcher=False)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        resp = client.post("/api/v1/releases/0.2.0/rollout", data={"zones": "thon-dong,thon-tay"})
        assert resp.status_code == 202, resp.text
        targets = commune.nodes_in("thon-dong", "thon-tay")
        assert sorted(resp.json()["told"]) == targets
        listed = client.get("/api/v1/releases").json()
        assert listed == [
            {"version": "0.2.0", "on_target": 0, "pending": 4, "failed": 0, "total": 4}
        ]
        refused = client.post("/api/v1/releases/9.9/rollout", json={"all": True})
        assert refused.status_code == 404
        assert "no release 9.9" in refused.json()["detail"]
    assert sorted(node for node, _ in commune.commands()) == targets


def test_release_wheels_are_backed_up_and_restored(commune, wheels, tmp_path):
    release = add(commune, wheels["0.2.0"])
    made = make_backup(commune.config, tmp_path / "backups")
    restore(made.path, tmp_path / "restored")
    back = tmp_path / "restored" / "releases" / f"{release.sha256}.whl"
    assert back.read_bytes() == wheels["0.2.0"].read_bytes()
