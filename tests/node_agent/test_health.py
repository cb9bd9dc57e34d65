"""The wireless link level read from /proc/net/wireless."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_agent.health import wireless_signal_dbm

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
