"""The wireless link level read from /proc/net/wireless, and the Health a node samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_agent.clock import ClockState
from node_agent.health import HealthSampler, HealthSources, wireless_signal_dbm
from node_agent.modem import CellLink
from protocol.messages import Health, NodeState

HEADER = (
    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
    " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
)


def row(iface: str, quality: str, level: str, noise: str = "-256") -> str:
    return f" {iface}: 0000   {quality}  {level}  {noise}        0      0      0      0      0   0"


def proc(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "wireless"
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows))
    return path


def test_reads_the_level_of_the_wireless_interface(tmp_path):
    path = proc(tmp_path, row("wlan0", "54.", "-56."))
    assert wireless_signal_dbm(path) == -56


def test_an_unsigned_byte_level_is_read_as_dbm(tmp_path):
    path = proc(tmp_path, row("wlan0", "40.", "200.", "0"))
    assert wireless_signal_dbm(path) == -56


def test_an_interface_without_a_reading_is_skipped_for_the_next(tmp_path):
    path = proc(
        tmp_path,
        row("wlan0", "0.", "0.", "0"),
        row("wlan1", "60.", "-48."),
    )
    assert wireless_signal_dbm(path) == -48


@pytest.mark.parametrize(
    "rows",
    [
        (),
        (" garbage line",),
        (" wlan0: 0000 54. n/a -256",),
        (" wlan0: 0000 54. inf -256",),
        # beyond the protocol's range: a state carrying it would be refused
        (row("wlan0", "54.", "-300."),),
    ],
)
def test_no_wireless_interface_or_no_reading_is_none(tmp_path, rows):
    assert wireless_signal_dbm(proc(tmp_path, *rows)) is None


def test_no_proc_file_is_none(tmp_path):
    assert wireless_signal_dbm(tmp_path / "absent") is None


# --- the Health of the node's state ---------------------------------------------------------


def health_sources(tmp_path: Path, **overrides: object) -> HealthSources:
    (tmp_path / "uptime").write_text("7200.5 100.0\n")
    (tmp_path / "meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 600 kB\n")
    zone = tmp_path / "thermal" / "thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("83250\n")
    fields: dict[str, object] = {
        "data_dir": tmp_path,
        "uptime": tmp_path / "uptime",
        "thermal": tmp_path / "thermal",
        "meminfo": tmp_path / "meminfo",
        "clock": lambda: ClockState(True, -3.5, "chrony"),
        "cell": lambda: CellLink(41, "lte"),
    }
    fields.update(overrides)
    return HealthSources(**fields)  # type: ignore[arg-type]


def test_health_gathers_every_reading(tmp_path):
    health = HealthSampler(health_sources(tmp_path)).sample()
    assert (health.uptime_s, health.cpu_temp_c) == (7200, 83.2)
    assert (health.memory_available_bytes, health.memory_total_bytes) == (600 * 1024, 1000 * 1024)
    assert health.disk_free_bytes is not None
    assert health.disk_total_bytes is not None
    assert (health.clock_synced, health.clock_offset_ms, health.clock_source) == (
        True,
        -3.5,
        "chrony",
    )
    assert (health.cell_signal_pct, health.cell_technology) == (41, "lte")


def test_a_node_with_no_sources_reports_unknown_health(tmp_path):
    missing = tmp_path / "missing"
    sources = HealthSources(
        data_dir=missing,
        uptime=missing,
        thermal=missing,
        meminfo=missing,
        clock=lambda: None,
        cell=lambda: None,
    )
    assert HealthSampler(sources).sample() == Health()


def test_slow_readings_are_refreshed_once_per_period_not_every_state(tmp_path):
    asked: list[str] = []
    clock_now = [1000.0]

    def clock() -> ClockState:
        asked.append("clock")
        return ClockState(True, float(len(asked)), "chrony")

    sampler = HealthSampler(
        health_sources(tmp_path, clock=clock), slow_every_s=300, now=lambda: clock_now[0]
    )
    first = sampler.sample()
    clock_now[0] += 299
    again = sampler.sample()
    assert asked == ["clock"]
    assert again.clock_offset_ms == first.clock_offset_ms == 1.0
    clock_now[0] += 1
    assert sampler.sample().clock_offset_ms == 2.0
    assert asked == ["clock", "clock"]


def test_health_always_fits_the_state_message(tmp_path):
    state = NodeState(
        node_id="node-a", status="online", health=HealthSampler(health_sources(tmp_path)).sample()
    )
    assert NodeState.model_validate_json(state.model_dump_json()) == state
