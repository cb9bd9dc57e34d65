"""The machine's figures read from files in the kernel's own formats; a missing or odd source
is unknown (None), never a crash."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from node_agent import sysinfo
from node_agent.version import installed_version

MEMINFO = """MemTotal:        3884328 kB
MemFree:          201544 kB
MemAvailable:    2710452 kB
Buffers:          112724 kB
Cached:          2377096 kB
"""


def zone(root: Path, n: int, kind: str, temp: str) -> None:
    d = root / f"thermal_zone{n}"
    d.mkdir(parents=True)
    (d / "type").write_text(kind + "\n")
    (d / "temp").write_text(temp + "\n")


def test_uptime_is_the_first_figure_of_proc_uptime(tmp_path):
    (tmp_path / "uptime").write_text("350735.47 234388.90\n")
    assert sysinfo.uptime_s(tmp_path / "uptime") == 350735


@pytest.mark.parametrize("text", ["", "garbage", "-5 1", "1e300 0"])
def test_an_unreadable_uptime_is_unknown(tmp_path, text):
    (tmp_path / "uptime").write_text(text)
    assert sysinfo.uptime_s(tmp_path / "uptime") is None
    assert sysinfo.uptime_s(tmp_path / "missing") is None


def test_the_raspberry_pi_cpu_zone_gives_the_temperature(tmp_path):
    zone(tmp_path, 0, "cpu-thermal", "52615")
    assert sysinfo.cpu_temp_c(tmp_path) == 52.6


def test_the_cpu_zone_wins_over_others_and_unreadable_zones_are_skipped(tmp_path):
    zone(tmp_path, 0, "acpitz", "27800")
    zone(tmp_path, 1, "x86_pkg_temp", "not ready")
    zone(tmp_path, 2, "soc_thermal", "81000")
    assert sysinfo.cpu_temp_c(tmp_path) == 81.0


def test_without_a_cpu_zone_the_first_zone_that_reads_is_used(tmp_path):
    zone(tmp_path, 10, "acpitz", "30000")
    zone(tmp_path, 2, "iwlwifi_1", "41000")
    assert sysinfo.cpu_temp_c(tmp_path) == 41.0


@pytest.mark.parametrize("temp", ["999999999", "-273000", "abc", ""])
def test_a_temperature_no_sensor_could_read_is_unknown(tmp_path, temp):
    zone(tmp_path, 0, "cpu-thermal", temp)
    assert sysinfo.cpu_temp_c(tmp_path) is None


def test_no_thermal_zones_means_unknown(tmp_path):
    assert sysinfo.cpu_temp_c(tmp_path) is None
    assert sysinfo.cpu_temp_c(tmp_path / "missing") is None


def test_memory_is_available_and_total_in_bytes(tmp_path):
    (tmp_path / "meminfo").write_text(MEMINFO)
    assert sysinfo.memory_bytes(tmp_path / "meminfo") == (2710452 * 1024, 3884328 * 1024)


def test_a_kernel_without_memavailable_gives_no_memory_reading(tmp_path):
    (tmp_path / "meminfo").write_text("MemTotal: 3884328 kB\nMemFree: 201544 kB\n")
    assert sysinfo.memory_bytes(tmp_path / "meminfo") is None
    assert sysinfo.memory_bytes(tmp_path / "missing") is None


def test_disk_is_read_where_the_data_lives(tmp_path):
    free, total = sysinfo.disk_bytes(tmp_path) or (0, 0)
    assert 0 < free <= total
    assert sysinfo.disk_bytes(tmp_path / "missing") is None


def test_the_version_is_the_installed_packages():
    assert installed_version() == version("loalang")
    assert installed_version("no-such-distribution") == "unknown"
