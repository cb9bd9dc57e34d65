"""``loa node selftest``: what a technician runs at the pole after installing a point.

It plays a test tone on the configured output with the amplifier relay switched on around it,
and checks the clock, the disk, the login to the broker and the controller's pinned key. Each
check prints one line, ✓ or ✗, and under a ✗ what to do, in Vietnamese then English; the exit
status is 1 if any check failed, so an install script can stop on it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from node_agent import sysinfo
from node_agent.agent import configured_sink
from node_agent.attention import make_test_tone
from node_agent.broker_check import CERTIFICATE, REFUSED, BrokerLogin, try_login
from node_agent.clock import ClockState, read_clock
from node_agent.config import NodeConfig
from node_agent.relay import RelayError, make_relay
from node_agent.sinks import SinkError
from protocol.signing import key_id, load_public_key

TONE_S = 1.0
TONE_RATE = 48_000
CLOCK_FAR_MS = 500.0  # as the controller's points page warns


@dataclass(frozen=True)
class Check:
    ok: bool
    line: str  # what was found
    todo: tuple[str, str] = ("", "")  # what to do when not ok: Vietnamese, English


def passed(line: str) -> Check:
    return Check(True, line)


def failed(line: str, vi: str, en: str) -> Check:
    return Check(False, line, (vi, en))


def output_and_relay(config: NodeConfig) -> list[Check]:
    """Amplifier on, the pre-roll, a 1 kHz tone on the configured output, amplifier off."""
    try:
        relay = make_relay(config.relay.kind, **config.relay.options)
    except (RelayError, TypeError, ValueError) as exc:
        relay_check = failed(
            f"Rơ-le ampli / amplifier relay ({config.relay.kind}): {exc}",
            "Kiểm tra dây nối rơ-le, chân GPIO trong node.json (relay.options.pin) và người "
            "dùng loa thuộc nhóm gpio.",
            "Check the relay wiring, the GPIO pin in node.json (relay.options.pin) and that "
            "the loa user is in the gpio group.",
        )
        return [_tone(config), relay_check]
    try:
        relay.on()
        went_on = relay.is_on
        time.sleep(config.relay.preroll_s)
        tone = _tone(config)
        relay.off()
        went_off = not relay.is_on
        relay.close()
    except RelayError as exc:
        return [
            failed(
                f"Rơ-le ampli / amplifier relay: {exc}",
                "Kiểm tra dây nối rơ-le và nguồn của nó.",
                "Check the relay's wiring and its power.",
            )
        ]
    if went_on and went_off:
        relay_check = passed(
            f"Rơ-le ampli / amplifier relay ({_relay_name(config)}): bật rồi tắt / on, then off"
        )
    else:
        relay_check = failed(
            f"Rơ-le ampli / amplifier relay ({_relay_name(config)}): không đổi trạng thái / "
            "did not switch",
            "Kiểm tra dây nối rơ-le.",
            "Check the relay's wiring.",
        )
    return [tone, relay_check]


def _relay_name(config: NodeConfig) -> str:
    if config.relay.kind == "gpio":
        return f"GPIO {config.relay.options.get('pin', '?')}"
    return "giả lập, không có phần cứng / recording, no hardware"


def _tone(config: NodeConfig) -> Check:
    try:
        sink = configured_sink(config)
        name = getattr(sink, "device_name", None) or str(getattr(sink, "directory", ""))
        tone = make_test_tone(TONE_S, TONE_RATE)
        sink.play(tone, TONE_RATE, label="selftest-tone", gain=config.volume)
    except (SinkError, TypeError, ValueError) as exc:
        return failed(
            f"Âm thanh ra / audio output ({config.sink.kind}): {exc}",
            "Kiểm tra card âm thanh (lệnh: aplay -l) và thiết bị trong node.json "
            "(sink.options.device).",
            "Check the sound card (command: aplay -l) and the device in node.json "
            "(sink.options.device).",
        )
    return passed(
        f"Âm thanh ra / audio output: {name} — đã phát tiếng bíp 1 kHz / played a 1 kHz tone"
    )


def clock(state: ClockState | None) -> Check:
    if state is None:
        return failed(
            "Đồng hồ / clock: không biết đã đồng bộ chưa / cannot tell if synchronised",
            "Cài chrony: sudo apt install chrony.",
            "Install chrony: sudo apt install chrony.",
        )
    offset = "" if state.offset_ms is None else f", {state.offset_ms:+.0f} ms"
    line = f"Đồng hồ / clock ({state.source}{offset})"
    if not state.synced:
        return failed(
            f"{line}: chưa đồng bộ / not synchronised",
            "Kiểm tra kết nối Internet và máy chủ giờ (lệnh: chronyc sources); điểm loa có "
            "thể phát sai giờ.",
            "Check the internet link and the time servers (command: chronyc sources); the "
            "point may play at the wrong time.",
        )
    if state.offset_ms is not None and abs(state.offset_ms) > CLOCK_FAR_MS:
        return failed(
            f"{line}: lệch nhiều / far off",
            "Chờ chrony chỉnh giờ, hoặc chạy: sudo chronyc makestep.",
            "Wait for chrony to correct it, or run: sudo chronyc makestep.",
        )
    return passed(f"{line}: đã đồng bộ / synchronised")


def disk(config: NodeConfig) -> Check:
    where = _existing(config.data_dir)
    usage = sysinfo.disk_bytes(where)
    writable = _writable(config.data_dir)
    if usage is None or not writable:
        return failed(
            f"Thư mục dữ liệu / data directory {config.data_dir}: không ghi được / not writable",
            f"Tạo thư mục và giao cho người dùng loa: sudo install -d -o loa {config.data_dir}.",
            f"Create it for the loa user: sudo install -d -o loa {config.data_dir}.",
        )
    free, total = usage
    line = f"Đĩa trống / free disk: {free / 1e9:.1f} GB / {total / 1e9:.1f} GB ({config.data_dir})"
    if free < 2 * config.min_free_bytes:
        return failed(
            line,
            "Thẻ nhớ gần đầy: xoá tệp không cần hoặc thay thẻ lớn hơn.",
            "The card is nearly full: remove unneeded files or fit a larger card.",
        )
    return passed(line)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def broker(config: NodeConfig, login: BrokerLogin) -> list[Check]:
    where = f"{config.broker_host}:{config.broker_port}"
    checks: list[Check] = []
    if not config.broker_tls:
        checks.append(
            failed(
                f"Mã hoá / encryption: kết nối tới {where} KHÔNG dùng TLS / does not use TLS",
                "Mật khẩu đi qua mạng không mã hoá: lấy lại gói cài đặt có TLS "
                "(loa node provision / loa node enrol).",
                "The password crosses the network in clear: get a new bundle with TLS "
                "(loa node provision / loa node enrol).",
            )
        )
    tls = "TLS" if config.broker_tls else "không TLS / no TLS"
    line = f"Máy chủ MQTT / broker {where} ({tls})"
    if login.ok:
        checks.append(passed(f"{line}: đăng nhập được / logged in as {config.node_id}"))
    elif login.problem == REFUSED:
        checks.append(
            failed(
                f"{line}: từ chối đăng nhập / refused the login ({login.detail})",
                "Mật khẩu của điểm loa không còn hiệu lực (có thể đã cấp lại cho máy khác): "
                "lấy gói cài đặt mới hoặc chạy lại loa node enrol.",
                "The node's password is no longer valid (it may have been re-provisioned): "
                "get a new bundle or run loa node enrol again.",
            )
        )
    elif login.problem == CERTIFICATE:
        checks.append(
            failed(
                f"{line}: chứng chỉ không đúng / wrong certificate ({login.detail})",
                "Chứng chỉ của máy chủ không khớp với CA trong node.json: kiểm tra địa chỉ máy "
                "chủ, hoặc lấy gói cài đặt mới.",
                "The broker's certificate does not match the CA in node.json: check the "
                "address, or get a new bundle.",
            )
        )
    else:
        checks.append(
            failed(
                f"{line}: không kết nối được / unreachable ({login.detail})",
                f"Kiểm tra mạng (4G/Wi-Fi), địa chỉ máy chủ trong node.json và tường lửa "
                f"(cổng {config.broker_port}).",
                f"Check the network (4G/Wi-Fi), the broker address in node.json and the "
                f"firewall (port {config.broker_port}).",
            )
        )
    return checks


def controller_key(config: NodeConfig) -> Check:
    try:
        load_public_key(config.controller_public_key)
    except ValueError as exc:
        return failed(
            f"Khoá máy chủ điều khiển / controller key: không hợp lệ / invalid ({exc})",
            "Điểm loa sẽ từ chối mọi lệnh: lấy gói cài đặt mới (loa node enrol).",
            "The point will refuse every command: get a new bundle (loa node enrol).",
        )
    fingerprint = key_id(config.controller_public_key)
    return passed(f"Khoá máy chủ điều khiển / controller key: đã ghim / pinned ({fingerprint})")


def run(
    config: NodeConfig,
    *,
    out: TextIO = sys.stdout,
    read_clock_state: Callable[[], ClockState | None] = read_clock,
    login: Callable[[NodeConfig], BrokerLogin] = try_login,
) -> int:
    print(f"Tự kiểm tra điểm loa / self-test of point {config.node_id}", file=out)
    checks = [
        *output_and_relay(config),
        clock(read_clock_state()),
        disk(config),
        *broker(config, login(config)),
        controller_key(config),
    ]
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.line}", file=out)
        for advice in check.todo if not check.ok else ():
            print(f"    → {advice}", file=out)
    failures = sum(not c.ok for c in checks)
    if failures:
        print(f"{failures} mục lỗi / {failures} checks failed", file=out)
        return 1
    print("Tất cả đều tốt / all checks passed", file=out)
    return 0


def main(config_path: Path) -> int:
    return run(NodeConfig.load(config_path))
