"""Every systemd unit in deploy/ passes `systemd-analyze verify`, and the node's unit keeps
the settings a loudspeaker point relies on.

`verify` refuses a unit whose ExecStart binary is missing, so each unit is checked inside a
throw-away root (`--root`) holding the system's own units, the unit, and an executable stub
at each path its Exec lines name: the real paths of a deployed machine, checked as written.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted(
    p for p in DEPLOY.rglob("*") if p.suffix in {".service", ".timer", ".socket", ".path"}
)
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop")


def unit_settings(path: Path) -> dict[str, list[str]]:
    """``Key -> values`` of a unit file, every section together, repeated keys kept."""
    settings: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def executables(path: Path) -> set[str]:
    """The absolute programs a unit runs (Exec lines, their prefixes such as '-' stripped)."""
    found = set()
    for key in EXEC_KEYS:
        for value in unit_settings(path).get(key, []):
            program = value.split()[0].lstrip("-@:+!")
            if program.startswith("/"):
                found.add(program)
    return found


def verify(unit: Path, root: Path) -> subprocess.CompletedProcess[str]:
    units = root / SYSTEM_UNITS.relative_to("/")
    shutil.copytree(SYSTEM_UNITS, units, symlinks=True, dirs_exist_ok=True)
    # all of deploy's units, so one that names another (a timer its service) finds it
    for each in {*UNITS, unit}:
        target = root / "etc/systemd/system" / each.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(each, target)
        for program in executables(each):
            stub = root / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", unit.name],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def analyze() -> None:
    if shutil.which("systemd-analyze") is None or not SYSTEM_UNITS.is_dir():
        pytest.skip("systemd-analyze and the system's units are needed (Debian's systemd)")


def test_deploy_has_the_units():
    names = {u.name for u in UNITS}
    assert {"loa-node.service", "loa-broker.service", "loa-controller.service"} <= names


@pytest.mark.usefixtures("analyze")
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: str(u.relative_to(DEPLOY)))
def test_systemd_analyze_verify_passes(unit, tmp_path):
    result = verify(unit, tmp_path)
    assert result.returncode == 0, result.stderr
    # verify only warns about unknown keys and bad values: any word from it is a fault
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.usefixtures("analyze")
def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt key and a missing program are both reported."""
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nExecStrat=/bin/true\nType=notfy\nExecStart=/bin/true\n")
    assert "ExecStrat" in verify(broken, tmp_path / "r1").stderr
    missing = tmp_path / "missing.service"
    missing.write_text("[Service]\nExecStart=/opt/nowhere/loa\n")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "/opt/nowhere/loa" in result.stderr


def test_every_unit_runs_as_the_loa_account():
    for unit in UNITS:
        if unit.suffix == ".service":
            assert unit_settings(unit).get("User") == ["loa"], unit.name


def test_the_broker_may_hold_a_connection_for_every_point_of_a_province():
    # Mosquitto never raises its open-file limit, and systemd's soft default is 1,024: without
    # LimitNOFILE the broker of a 1,000-point server refuses points before the last one.
    [limit] = unit_settings(DEPLOY / "systemd" / "loa-broker.service")["LimitNOFILE"]
    assert int(limit) >= 2 * 10_000  # a province's points, with room for reconnections


def test_the_node_unit_is_watched_hardened_and_writes_only_its_state_and_releases():
    node = unit_settings(DEPLOY / "systemd/loa-node.service")
    one = {key: values[-1] for key, values in node.items()}
    assert one["Type"] == "notify"
    # the agent is the start wrapper's child: its READY and WATCHDOG must count, and a
    # watchdog timeout must kill it too, not the wrapper alone
    assert one["NotifyAccess"] == "all"
    assert one.get("KillMode", "control-group") == "control-group"
    assert int(one["WatchdogSec"]) > 0
    assert one["Restart"] == "always"
    assert {"network-online.target", "time-sync.target"} <= set(one["After"].split())
    assert {"network-online.target", "time-sync.target"} <= set(one["Wants"].split())
    # through the start wrapper, on the layout the updater keeps, which the agent may write
    assert one["ExecStart"] == (
        "/usr/bin/python3 /opt/loalang/loa-node-start --root /opt/loalang"
        " --config /etc/loalang/node.json"
    )
    assert one["ReadWritePaths"] == "/opt/loalang"
    assert set(one["SupplementaryGroups"].split()) == {"audio", "gpio"}
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables"):
        assert one[key] == "yes", key
    assert one["ProtectSystem"] == "strict"
    assert one["StateDirectory"] == "loalang"
    assert one["WorkingDirectory"] == "/var/lib/loalang"  # lgpio writes its pipe there
    assert one["CapabilityBoundingSet"] == ""
    assert set(one["RestrictAddressFamilies"].split()) == {
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
        "AF_NETLINK",
    }
    assert one["DevicePolicy"] == "closed"
    assert {"char-alsa rw", "char-gpiochip rw"} <= set(node["DeviceAllow"])
    # journald: nothing redirects the agent's output elsewhere
    assert "StandardOutput" not in one
    assert "StandardError" not in one


def test_the_hardware_watchdog_drop_in_sets_the_runtime_watchdog():
    conf = configparser.ConfigParser()
    conf.read(DEPLOY / "systemd/system.conf.d/loa-watchdog.conf")
    assert 0 < int(conf["Manager"]["RuntimeWatchdogSec"]) <= 15  # the Pi's bcm2835 maximum
