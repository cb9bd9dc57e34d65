"""`deploy/node/install.sh` against a throw-away root (tests/deploy/node_root.py): files, users
and units as a real Raspberry Pi would have them, idempotent, a new bundle replaces the
credentials, bad input changes nothing.

useradd --root chroots, so these tests need root (as the installer itself does).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.node_root import INSTALL, REPO, Pi, make_pi, tree_checksum
from tests.support.wheels import build_wheel

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="useradd/groupadd --root and chown need root, as on the Pi"
)

NODE = {
    "node_id": "loa-cong-cho",
    "broker_host": "broker.example.vn",
    "broker_port": 8883,
    "broker_password": "first-secret",
    "broker_tls": True,
    "controller_public_key": "A" * 43 + "=",
    "data_dir": "/var/lib/loalang",
}


def bundle(at: Path, **changes: object) -> Path:
    at.mkdir(parents=True, exist_ok=True)
    (at / "node.json").write_text(json.dumps({**NODE, **changes}, indent=2))
    (at / "broker-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    (at / "label.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return at


def installed(pi: Pi, tmp_path: Path) -> Pi:
    result = pi.run(str(bundle(tmp_path / "bundle")))
    assert result.returncode == 0, result.stderr + result.stdout
    return pi


@pytest.fixture(scope="module")
def installed_template(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh Pi after one run with the bundle, made once: a virtualenv and pip install take
    seconds, and most tests here start from an installed point. Tests copy it (installed_pi)
    and never change it."""
    base = tmp_path_factory.mktemp("installed-pi")
    installed(make_pi(base / "pi", wheel), base)
    return base


@pytest.fixture
def installed_pi(installed_template: Path, tmp_path: Path, wheel: Path) -> Pi:
    """The template's root, recorded state and fakes with owners, modes and times (cp -a), and
    the same bundle at tmp_path/bundle: to the installer, the very point it left. Only the
    virtualenv's own scripts still name the template's path, and these tests never run them."""
    for part in ("pi", "bundle"):
        subprocess.run(["cp", "-a", str(installed_template / part), str(tmp_path)], check=True)
    base = tmp_path / "pi"
    return Pi(base / "root", base / "state", base / "fakes", wheel)


def mode_owner(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return oct(st.st_mode & 0o777), st.st_uid, st.st_gid


def test_a_fresh_pi_gets_packages_user_venv_config_and_unit(pi, tmp_path):
    installed(pi, tmp_path)
    calls = pi.acting_calls()

    # apt: only the packages that were missing (chrony was there), in one install
    assert calls[0] == "apt-get update -q"
    assert calls[1].startswith("apt-get install -y -q --no-install-recommends")
    assert calls[1].split()[5:] == ["python3-venv", "libportaudio2", "alsa-utils"]

    # the loa system user, in audio (kept as it was) and gpio (created as a system group)
    loa = pi.entry("passwd", "loa")
    uid, gid = int(loa[2]), int(loa[3])
    assert uid < 1000
    assert (loa[5], loa[6]) == ("/var/lib/loalang", "/usr/sbin/nologin")
    assert pi.entry("group", "audio")[2:] == ["29", "pi,loa"]
    gpio = pi.entry("group", "gpio")
    assert int(gpio[2]) < 1000
    assert gpio[3] == "loa"
    assert pi.entry("shadow", "loa")[1] == "!"  # no password: nobody logs in as loa

    # the updater's layout: a release with loalang, 'current' pointing at it, the wrapper
    opt = pi.root / "opt/loalang"
    assert os.readlink(opt / "current") == "releases/0.1.0"
    assert os.access(opt / "current/bin/loa", os.X_OK)
    site = next((opt / "releases/0.1.0/lib").glob("python3*/site-packages"))
    assert (site / "node_agent/agent.py").is_file()
    wrapper = opt / "loa-node-start"
    assert wrapper.read_bytes() == (site / "node_agent/release_start.py").read_bytes()
    assert mode_owner(wrapper) == ("0o755", uid, gid)
    # the code is loa's, for the agent to install its updates, and nobody else's to change
    # (deploy/SECURITY.md "The node's code is the agent's")
    for path in (opt, site, site / "node_agent/agent.py", opt / "current/bin", opt / "releases"):
        assert path.stat().st_uid == uid, path
        assert not path.stat().st_mode & 0o022, path
    assert os.lstat(opt / "current").st_uid == uid  # the agent replaces the link itself
    assert not list(site.glob("fastapi*")), "a controller dependency on a Pi"

    # the bundle: config and CA for loa alone, the printed label left out
    etc = pi.root / "etc/loalang"
    assert mode_owner(etc) == ("0o700", uid, gid)
    assert json.loads((etc / "node.json").read_text())["broker_password"] == "first-secret"
    assert mode_owner(etc / "node.json") == ("0o600", uid, gid)
    assert mode_owner(etc / "broker-ca.pem") == ("0o600", uid, gid)
    assert not (etc / "label.png").exists()
    assert mode_owner(pi.root / "var/lib/loalang") == ("0o700", uid, gid)

    # the unit and the hardware watchdog, as in deploy/, enabled and started
    unit = pi.root / "etc/systemd/system/loa-node.service"
    assert unit.read_text() == (REPO / "deploy/systemd/loa-node.service").read_text()
    assert mode_owner(unit)[0] == "0o644"
    drop_in = pi.root / "etc/systemd/system.conf.d/loa-watchdog.conf"
    assert (
        drop_in.read_text() == (REPO / "deploy/systemd/system.conf.d/loa-watchdog.conf").read_text()
    )
    assert [c for c in calls if c.startswith("systemctl")] == [
        "systemctl daemon-reload",
        "systemctl daemon-reexec",
        "systemctl enable chrony-wait.service",
        "systemctl enable loa-node.service",
        "systemctl restart loa-node.service",
    ]


def test_running_it_twice_changes_nothing(installed_pi, tmp_path):
    pi = installed_pi
    before = tree_checksum(pi.root)
    pi.forget_calls()
    again = pi.run(str(tmp_path / "bundle"))
    assert again.returncode == 0, again.stderr
    assert tree_checksum(pi.root) == before
    assert pi.acting_calls() == []  # only questions: is it installed, enabled, running
    assert "systemctl is-active --quiet loa-node.service" in pi.calls()


def test_a_stopped_agent_is_started_by_running_it_again(installed_pi, tmp_path):
    pi = installed_pi
    (pi.state / "active.loa-node.service").unlink()  # as after `systemctl stop loa-node`
    pi.forget_calls()
    assert pi.run(str(tmp_path / "bundle")).returncode == 0
    assert pi.acting_calls() == ["systemctl start loa-node.service"]


def test_a_new_bundle_replaces_the_credentials_and_restarts_the_agent(installed_pi, tmp_path):
    pi = installed_pi
    pi.forget_calls()
    new = bundle(tmp_path / "new-bundle", broker_password="second-secret")
    result = pi.run(str(new))
    assert result.returncode == 0, result.stderr
    node = pi.root / "etc/loalang/node.json"
    assert json.loads(node.read_text())["broker_password"] == "second-secret"
    assert mode_owner(node)[0] == "0o600"
    assert not list((pi.root / "etc/loalang").glob(".*.new"))
    assert pi.acting_calls() == ["systemctl restart loa-node.service"]


def test_a_user_that_exists_without_the_groups_is_put_in_them(pi, tmp_path):
    with (pi.root / "etc/passwd").open("a") as f:
        f.write("loa:x:990:990::/var/lib/loalang:/usr/sbin/nologin\n")
    with (pi.root / "etc/group").open("a") as f:
        f.write("loa:x:990:\n")
    installed(pi, tmp_path)
    assert pi.entry("group", "audio")[3] == "pi,loa"
    assert pi.entry("group", "gpio")[3] == "loa"
    assert pi.entry("passwd", "loa")[2] == "990"  # the account is kept, not made again


def _bad_bundles(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    empty = tmp_path / "empty"
    empty.mkdir()
    not_json = bundle(tmp_path / "not-json")
    (not_json / "node.json").write_text("{ broker_password: ")
    no_password = bundle(tmp_path / "no-password", broker_password="")
    linked = bundle(tmp_path / "linked")
    (linked / "shadow").symlink_to("/etc/shadow")
    return {
        "no arguments": ([], "usage"),
        "not a directory": ([str(tmp_path / "nowhere")], "is not a directory"),
        "no node.json": ([str(empty)], "has no node.json"),
        "not json": ([str(not_json)], "not JSON"),
        "no password": ([str(no_password)], "no broker_password"),
        "a symlink": ([str(linked)], "is a symbolic link: refused"),
        "bundle and enrol": (
            [str(no_password), "--enrol", "https://x", "C", "--fingerprint", "F"],
            "not both",
        ),
        "plain http": (["--enrol", "http://x", "CODE", "--fingerprint", "F"], "https://"),
        "no fingerprint": (["--enrol", "https://x", "CODE"], "--fingerprint"),
        "unknown option": (["--force", str(no_password)], "unknown option --force"),
    }


CASES = [
    "no arguments",
    "not a directory",
    "no node.json",
    "not json",
    "no password",
    "a symlink",
    "bundle and enrol",
    "plain http",
    "no fingerprint",
    "unknown option",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_a_clear_error_and_changes_nothing(pi, tmp_path, case):
    args, message = _bad_bundles(tmp_path)[case]
    before = tree_checksum(pi.root)
    result = pi.run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.startswith("loa install: ")
    assert tree_checksum(pi.root) == before
    assert pi.calls() == []


def test_a_bad_bundle_on_an_installed_point_keeps_its_credentials(installed_pi, tmp_path):
    pi = installed_pi
    before = tree_checksum(pi.root)
    pi.forget_calls()
    broken = bundle(tmp_path / "broken")
    (broken / "node.json").write_text("{}")
    result = pi.run(str(broken))
    assert result.returncode == 2
    assert "no node_id, broker_password, controller_public_key" in result.stderr
    assert tree_checksum(pi.root) == before
    assert pi.calls() == []


def test_help_is_the_scripts_own_header():
    result = subprocess.run(
        ["sh", str(INSTALL), "--help"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("Turn a Raspberry Pi")
    assert "--root DIR" in result.stdout
    assert "set -eu" not in result.stdout  # the header ends where the script begins
    assert "\nset -eu\n" in INSTALL.read_text()


def test_a_failed_enrolment_leaves_no_point_half_set_up(pi):
    """The enrol form installs the software, then asks `loa node enrol` for the config; when
    that fails (here: nothing answers at the URL) the unit is neither enabled nor started."""
    result = pi.run("--enrol", "https://127.0.0.1:9/", "CODE-1234", "--fingerprint", "AB:CD")
    assert result.returncode == 2
    assert "enrolment failed" in result.stderr
    assert os.access(pi.root / "opt/loalang/current/bin/loa", os.X_OK)
    assert not (pi.root / "etc/loalang/node.json").exists()
    assert not [c for c in pi.calls() if c.startswith("systemctl")]


def test_a_config_copied_by_hand_before_is_taken_over(pi, tmp_path):
    """A point set up the old way (node.json copied to /etc/loalang by hand, root's, 0644)."""
    etc = pi.root / "etc/loalang"
    etc.mkdir(parents=True)
    etc.chmod(0o755)
    (etc / "node.json").write_text(json.dumps(NODE, indent=2))
    (etc / "node.json").chmod(0o644)
    installed(pi, tmp_path)
    uid = int(pi.entry("passwd", "loa")[2])
    assert mode_owner(etc)[:2] == ("0o700", uid)
    assert mode_owner(etc / "node.json")[:2] == ("0o600", uid)


def test_a_new_version_goes_beside_the_old_one_and_current_is_switched(installed_pi, tmp_path):
    pi = installed_pi
    pi.forget_calls()
    pi.wheel = build_wheel(tmp_path / "newer", version="0.2.0")
    result = pi.run(str(tmp_path / "bundle"))
    assert result.returncode == 0, result.stderr
    opt = pi.root / "opt/loalang"
    assert os.readlink(opt / "current") == "releases/0.2.0"
    assert (opt / "releases/0.1.0/bin/loa").exists()  # the old one stays, to go back to
    site = next((opt / "releases/0.2.0/lib").glob("python3*/site-packages"))
    assert (site / "loalang-0.2.0.dist-info").is_dir()
    # the wrapper comes with the release it starts
    assert (opt / "loa-node-start").read_bytes() == (
        site / "node_agent/release_start.py"
    ).read_bytes()
    assert pi.acting_calls() == ["systemctl restart loa-node.service"]


def test_an_older_package_does_not_undo_an_update(pi, tmp_path):
    """After an update to 0.2.0 (the agent's doing), running the installer of 0.1.0 again
    (say, to give the point a new bundle) keeps 0.2.0 running."""
    pi.wheel = build_wheel(tmp_path / "newer", version="0.2.0")
    installed(pi, tmp_path)
    opt = pi.root / "opt/loalang"
    wrapper = (opt / "loa-node-start").read_bytes()
    pi.wheel = build_wheel(tmp_path / "older", version="0.1.0")
    pi.forget_calls()
    result = pi.run(str(tmp_path / "bundle"))
    assert result.returncode == 0, result.stderr
    assert "keeping loalang 0.2.0" in result.stdout
    assert os.readlink(opt / "current") == "releases/0.2.0"
    assert (opt / "loa-node-start").read_bytes() == wrapper
    assert (opt / "releases/0.1.0/.loa-installed").exists()  # beside it, unused


def test_a_link_planted_where_the_releases_go_is_refused(installed_pi, tmp_path):
    """root never writes through a symbolic link the agent's account could have made."""
    pi = installed_pi
    opt = pi.root / "opt/loalang"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (opt / "releases/0.2.0").symlink_to(elsewhere)
    pi.wheel = build_wheel(tmp_path / "newer", version="0.2.0")
    pi.forget_calls()
    result = pi.run(str(tmp_path / "bundle"))
    assert result.returncode == 2
    assert "is a symbolic link: refused" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert os.readlink(opt / "current") == "releases/0.1.0"
    assert pi.acting_calls() == []


def test_a_half_made_virtualenv_is_made_again(installed_pi, tmp_path):
    """An install cut off during pip leaves a venv without its stamp: the next run redoes it."""
    pi = installed_pi
    venv = pi.root / "opt/loalang/releases/0.1.0"
    (venv / ".loa-installed").unlink()
    (venv / "bin/loa").unlink()
    pi.forget_calls()
    assert pi.run(str(tmp_path / "bundle")).returncode == 0
    assert os.access(venv / "bin/loa", os.X_OK)
    assert (venv / ".loa-installed").read_text().startswith("0.1.0 ")
    assert pi.acting_calls() == ["systemctl restart loa-node.service"]


def test_a_package_pip_cannot_install_leaves_the_running_version(installed_pi, tmp_path):
    pi = installed_pi
    pi.forget_calls()
    broken = tmp_path / "broken/loalang-0.3.0-py3-none-any.whl"
    broken.parent.mkdir()
    broken.write_bytes(b"not a zip file")
    pi.wheel = broken
    result = pi.run(str(tmp_path / "bundle"))
    assert result.returncode == 2
    assert "pip could not install loalang[node]" in result.stderr
    assert os.readlink(pi.root / "opt/loalang/current") == "releases/0.1.0"
    assert not (pi.root / "opt/loalang/releases/0.3.0/.loa-installed").exists()
    assert not [c for c in pi.calls() if c.startswith("systemctl")]
