"""The clock and the 4G link, read by running the real programs' stand-ins: scripts that print
what chronyc, timedatectl and mmcli print, run as real subprocesses."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from node_agent.clock import (
    ClockState,
    parse_chrony_tracking,
    parse_timedatectl,
    read_clock,
)
from node_agent.modem import CellLink, parse_mmcli, read_cell_link
from node_agent.probe import run_command

# `chronyc -c tracking` on a Raspberry Pi: the clock is 12.345 µs fast ("fast of NTP time").
CHRONY_SYNCED = (
    "A9FEA97B,169.254.169.123,4,1764990000.123456789,-0.000012345,-0.000004321,"
    "0.000021000,-8.123,0.001,0.024,0.000456789,0.000123456,64.2,Normal\n"
)
CHRONY_SLOW = (
    "C0A80001,192.168.0.1,3,1764990000.000000000,1.250000000,0.9,0.1,"
    "2.000,0.001,0.024,0.010,0.020,16.0,Normal\n"
)
CHRONY_UNSYNCED = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,"
    "0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised\n"
)
TIMEDATECTL = (
    "Timezone=Asia/Ho_Chi_Minh\nLocalRTC=no\nCanNTP=yes\nNTP=yes\n"
    "NTPSynchronized=yes\nTimeUSec=Sun 2026-12-06 15:30:00 +07\nRTCTimeUSec=n/a\n"
)
MMCLI = """modem.dbus-path                                 : /org/freedesktop/ModemManager1/Modem/0
modem.generic.manufacturer                      : QUALCOMM INCORPORATED
modem.generic.model                             : QUECTEL Mobile Broadband Module
modem.generic.state                             : connected
modem.generic.access-technologies.length        : 1
modem.generic.access-technologies.value[1]      : lte
modem.generic.signal-quality.value              : 67
modem.generic.signal-quality.recent             : yes
modem.3gpp.operator-name                        : Viettel
"""


def script(tmp_path: Path, name: str, output: str, *, code: int = 0) -> list[str]:
    """An executable that prints ``output`` and exits with ``code``, as the real tool would."""
    (tmp_path / f"{name}.out").write_text(output)
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\ncat '{tmp_path / name}.out'\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return [str(path)]


def test_chrony_gives_the_offset_with_the_sign_of_the_nodes_clock():
    assert parse_chrony_tracking(CHRONY_SYNCED) == ClockState(True, 0.012, "chrony")
    # chrony corrects a slow clock forward: a positive correction is a clock behind
    assert parse_chrony_tracking(CHRONY_SLOW) == ClockState(True, -1250.0, "chrony")


def test_chrony_without_a_source_is_not_synchronised():
    state = parse_chrony_tracking(CHRONY_UNSYNCED)
    assert state is not None
    assert state.synced is False


@pytest.mark.parametrize("text", ["", "506 Cannot talk to daemon", "a,b,c", "x," * 13 + "Normal"])
def test_chrony_output_that_is_not_a_tracking_report_is_no_reading(text):
    assert parse_chrony_tracking(text) is None


def test_an_absurd_chrony_offset_is_dropped_but_the_sync_state_kept():
    state = parse_chrony_tracking(CHRONY_SLOW.replace("1.250000000", "1e30"))
    assert state == ClockState(True, None, "chrony")


def test_timedatectl_says_whether_systemd_synchronised_the_clock():
    assert parse_timedatectl(TIMEDATECTL) == ClockState(True, None, "timedatectl")
    unsynced = TIMEDATECTL.replace("NTPSynchronized=yes", "NTPSynchronized=no")
    assert parse_timedatectl(unsynced) == ClockState(False, None, "timedatectl")
    assert parse_timedatectl("Timezone=UTC\n") is None


def test_read_clock_asks_chrony_first(tmp_path):
    state = read_clock(
        chronyc=script(tmp_path, "chronyc", CHRONY_SYNCED),
        timedatectl=script(tmp_path, "timedatectl", TIMEDATECTL.replace("=yes", "=no")),
        kernel=lambda: 5,
    )
    assert state == ClockState(True, 0.012, "chrony")


def test_without_chrony_timedatectl_then_the_kernel_answer(tmp_path):
    missing = [str(tmp_path / "no-such-program")]
    failing = script(tmp_path, "chronyc", "506 Cannot talk to daemon\n", code=1)
    assert read_clock(
        chronyc=failing, timedatectl=script(tmp_path, "timedatectl", TIMEDATECTL), kernel=lambda: 5
    ) == ClockState(True, None, "timedatectl")
    assert read_clock(chronyc=missing, timedatectl=missing, kernel=lambda: 5) == ClockState(
        False, None, "adjtimex"
    )
    assert read_clock(chronyc=missing, timedatectl=missing, kernel=lambda: 0) == ClockState(
        True, None, "adjtimex"
    )
    assert read_clock(chronyc=missing, timedatectl=missing, kernel=lambda: None) is None


def test_a_hung_program_is_cut_off_and_means_unknown(tmp_path):
    hung = tmp_path / "chronyc"
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    assert run_command([str(hung)], timeout_s=0.2) is None


def test_mmcli_gives_the_4g_signal_and_technology(tmp_path):
    assert parse_mmcli(MMCLI) == CellLink(67, "lte")
    assert read_cell_link(script(tmp_path, "mmcli", MMCLI)) == CellLink(67, "lte")


def test_no_modem_means_no_cellular_reading(tmp_path):
    # ModemManager without a modem: "error: couldn't find modem", exit status 1
    assert read_cell_link(script(tmp_path, "mmcli", "", code=1)) is None
    assert read_cell_link([str(tmp_path / "no-mmcli")]) is None


@pytest.mark.parametrize(
    "value", ["--", "", "250", "-3", "67%"], ids=["none", "empty", "over", "negative", "percent"]
)
def test_a_signal_quality_outside_0_to_100_is_no_reading(value):
    assert parse_mmcli(MMCLI.replace(": 67", f": {value}")) is None


def test_an_odd_technology_name_is_left_out_not_passed_on():
    text = MMCLI.replace(": lte", ": <script>")
    assert parse_mmcli(text) == CellLink(67, None)


@pytest.mark.parametrize(
    ("correction", "offset_ms"), [("600.0", -600_000.0), ("-600.0", 600_000.0)]
)
def test_a_clock_jumped_ten_minutes_is_read_whole(correction, offset_ms):
    """A node's clock jumped ±10 min: chrony's reading carries the whole jump in the health
    report (the controller warns ``clock_far``: tests/controller/nodes/test_health.py)."""
    state = parse_chrony_tracking(CHRONY_SLOW.replace("1.250000000", correction))
    assert state == ClockState(True, offset_ms, "chrony")
