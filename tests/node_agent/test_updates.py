"""The node's side of an update, driven through the agent's own handlers on a real store,
cache and virtualenvs, offline (no broker; the player is not started): what it refuses, that it
defers while anything is on air or an emergency waits, and that it installs, switches and asks
to be restarted once the moment is quiet.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node_agent import release_start
from node_agent.agent import NodeAgent
from node_agent.release_start import (
    RESTART_EXIT,
    WRAPPED_ENV,
    Marker,
    read_marker,
    write_marker,
)
from node_agent.updates import install_root
from protocol.messages import AudioRef, PlayCommand, UpdateCommand, utcnow
from protocol.releases import sign_release
from protocol.signing import new_private_key, sign_command
from protocol.topics import node_topic
from tests.support import wait_for
from tests.support.keys import KEY
from tests.support.offline_node import offline_agent
from tests.support.wheels import build_wheel, release_venv

NODE = "loa-update-a"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {v: build_wheel(out, v) for v in ("0.1.0", "0.2.0")}


def make_agent(tmp_path: Path, install_root: Path | None) -> NodeAgent:
    return offline_agent(tmp_path, NODE, install_root=install_root, update_confirm_s=5)


@pytest.fixture
def root(tmp_path: Path, wheels: dict[str, Path]) -> Path:
    made = tmp_path / "opt-loalang"
    made.mkdir()
    release_venv(made, wheels["0.1.0"], "0.1.0")
    return made


@pytest.fixture(autouse=True)
def wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """As under the start wrapper, which tells the agent it is there."""
    monkeypatch.setenv(WRAPPED_ENV, "1")


@pytest.fixture
def agent(tmp_path: Path, root: Path) -> Iterator[NodeAgent]:
    made = make_agent(tmp_path, root)
    yield made
    made.store.close()


def send(agent: NodeAgent, command: Any) -> None:
    _, envelope = sign_command(KEY, command, [NODE])
    agent.commands.on_command(node_topic(NODE, "cmd"), envelope.model_dump_json().encode())


def update_to(wheel: Path, version: str, key=KEY) -> UpdateCommand:
    data = wheel.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    return UpdateCommand(release=sign_release(key, version, wheel.name, sha, len(data)))


def put_in_cache(agent: NodeAgent, wheel: Path) -> None:
    """As if the fetcher had brought it: the bytes land in the cache and are announced."""
    data = wheel.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    agent.cache.append(sha, 0, data)
    agent.cache.finish(sha)
    agent.updater.fetched(sha)


def events(agent: NodeAgent) -> list[dict[str, Any]]:
    return [
        json.loads(p) for _, p, _ in agent.store.due_outbox(older_than=float("inf"), limit=1000)
    ]


def test_a_node_not_installed_as_releases_refuses_updates(tmp_path, wheels):
    agent = make_agent(tmp_path, None)
    try:
        send(agent, update_to(wheels["0.2.0"], "0.2.0"))
        [ack] = [e for e in events(agent) if e["type"] == "ack"]
        assert not ack["accepted"]
        assert "no install_root" in ack["reason"]
        assert agent.fetcher.active == {}
    finally:
        agent.store.close()


def test_an_agent_not_started_by_the_wrapper_refuses_updates(agent, wheels, monkeypatch):
    monkeypatch.delenv(WRAPPED_ENV)
    send(agent, update_to(wheels["0.2.0"], "0.2.0"))
    [ack] = [e for e in events(agent) if e["type"] == "ack"]
    assert not ack["accepted"]
    assert "not started by loa-node-start" in ack["reason"]
    assert agent.fetcher.active == {}


def test_a_newer_release_replaces_one_still_downloading(agent, wheels, tmp_path):
    first = update_to(wheels["0.2.0"], "0.2.0")
    send(agent, first)
    newer = update_to(build_wheel(tmp_path / "w", "0.2.1"), "0.2.1")
    send(agent, newer)
    assert list(agent.fetcher.active) == [newer.release.sha256]


def test_a_release_signed_by_another_key_is_refused_before_a_byte_is_fetched(agent, wheels):
    send(agent, update_to(wheels["0.2.0"], "0.2.0", key=new_private_key()))
    [ack] = [e for e in events(agent) if e["type"] == "ack"]
    assert not ack["accepted"]
    assert "bad signature" in ack["reason"]
    assert agent.fetcher.active == {}
    assert agent.updater.wanted is None


def test_an_accepted_release_is_fetched_through_the_audio_fetcher(agent, wheels):
    command = update_to(wheels["0.2.0"], "0.2.0")
    send(agent, command)
    [ack] = [e for e in events(agent) if e["type"] == "ack"]
    assert ack["accepted"], ack
    assert list(agent.fetcher.active) == [command.release.sha256]
    assert agent.fetcher.active[command.release.sha256].size == command.release.size


def emergency(play_id: str) -> PlayCommand:
    return PlayCommand(
        play_id=play_id,
        bulletin_id="b1",
        audio=AudioRef(sha256="cd" * 32, size=100, duration_s=3.0),
        play_at=utcnow() + timedelta(minutes=10),
        valid_until=utcnow() + timedelta(hours=1),
        priority="emergency",
    )


def test_the_switch_waits_while_anything_is_on_air_or_an_emergency_waits(agent, root, wheels):
    send(agent, update_to(wheels["0.2.0"], "0.2.0"))
    put_in_cache(agent, wheels["0.2.0"])

    agent.on_air = "b7.2026-12-06"
    agent.updater.tick()
    assert "on air" in agent.updater.deferred
    agent.on_air = None
    send(agent, emergency("alert-1"))
    agent.updater.tick()
    assert "emergency alert-1 is still to play" in agent.updater.deferred
    assert not (root / "releases" / "0.2.0").exists()  # nothing installed meanwhile
    assert os.readlink(root / "current") == "releases/0.1.0"
    assert not agent.stopping.is_set()


def test_a_quiet_node_installs_beside_switches_and_asks_to_be_restarted(
    agent: NodeAgent, root: Path, wheels: dict[str, Path]
) -> None:
    send(agent, update_to(wheels["0.2.0"], "0.2.0"))
    put_in_cache(agent, wheels["0.2.0"])

    def restarted() -> bool:
        agent.updater.tick()
        return agent.stopping.is_set()

    wait_for(restarted, 120, "the install and the switch")
    assert agent.exit_code == RESTART_EXIT
    assert os.readlink(root / "current") == "releases/0.2.0"
    assert (root / "releases" / "0.1.0" / "bin" / "loa").exists()  # untouched, for a rollback
    marker = read_marker(root)
    assert marker is not None
    assert (marker.status, marker.from_version, marker.to_version) == ("pending", "0.1.0", "0.2.0")
    assert marker.confirm_within_s == 5


def test_the_new_version_online_confirms_and_reports_updated(agent, root):
    running = agent.updater.version
    write_marker(root, Marker("pending", "0.0.9", running, 60, started_at=1.0))
    (root / "releases" / "0.0.9").mkdir()
    (root / "releases" / "0.0.8").mkdir()
    agent.updater.on_online()
    [event] = [e for e in events(agent) if e["type"] == "update"]
    assert (event["outcome"], event["version"], event["from_version"]) == (
        "updated",
        running,
        "0.0.9",
    )
    assert read_marker(root) is None
    # the proven release's start wrapper is the one the unit runs from now on
    wrapper = root / "loa-node-start"
    assert wrapper.read_text() == Path(release_start.__file__).read_text()
    assert os.access(wrapper, os.X_OK)
    # the one before is kept for a rollback; older ones go
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["0.0.9", "0.1.0"]


def test_the_old_version_started_after_a_rollback_reports_it_and_does_not_retry(
    tmp_path, root, wheels
):
    first = make_agent(tmp_path, root)
    send(first, update_to(wheels["0.2.0"], "0.2.0"))
    first.store.close()
    write_marker(root, Marker("rolled_back", "0.1.0", "0.2.0", 60, 1.0, "it hung"))

    again = make_agent(tmp_path, root)
    try:
        again.updater.restore()
        [event] = [e for e in events(again) if e["type"] == "update"]
        assert (event["outcome"], event["version"], event["reason"]) == (
            "rolled_back",
            "0.2.0",
            "it hung",
        )
        assert read_marker(root) is None
        assert again.updater.wanted is None
        assert again.fetcher.active == {}
    finally:
        again.store.close()


def test_the_install_root_is_the_wrappers_when_it_started_the_agent(tmp_path, caplog):
    wrapped = {"LOA_START_WRAPPER": "41", "LOA_INSTALL_ROOT": str(tmp_path)}
    # an installed point: nothing in its config, the wrapper says where releases are
    assert install_root(None, wrapped) == tmp_path
    assert install_root(tmp_path, wrapped) == tmp_path
    assert not caplog.records
    # a config naming another root is overruled, and said so
    assert install_root(tmp_path / "elsewhere", wrapped) == tmp_path
    assert "is not" in caplog.text
    # not wrapped: the config decides (None: a checkout, which refuses updates)
    assert install_root(tmp_path / "x", {"LOA_INSTALL_ROOT": str(tmp_path)}) == tmp_path / "x"
    assert install_root(None, {}) is None
