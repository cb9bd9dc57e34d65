"""Where a relay may pull from: the guard against an approver's account reaching inside.

A relay URL is typed by a person and fetched by the controller, which sits inside the commune's
network next to the broker, the database and often a router's admin page. So: http or https
only (no file:, ftp:, rtmp:, data:), no user:password in it, a host name that resolves, and
every address it resolves to public, unless the operator listed that address or network in
``relay_allowed_hosts`` (a station's own Icecast on the LAN). The check runs when the relay is
saved, again each time it is opened (the name may now point elsewhere), and on every redirect
and every HLS segment URL (controller/relay/fetch.py).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from controller.errors import InvalidInputError

Resolver = Callable[[str, int], list[str]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInputError(
            "relay.unresolved",
            f"the relay host {host!r} does not resolve: {exc}",
            f"Không tìm thấy máy chủ {host!r} của đài",
            field="url",
        ) from None
    return sorted({str(info[4][0]) for info in infos})


def _refuse(code: str, english: str, vietnamese: str) -> InvalidInputError:
    return InvalidInputError(f"relay.{code}", english, vietnamese, field="url")


def is_internal(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def allowed_by(address: IpAddress, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a host name in the list: matched by name in check_url
    return False


def check_url(url: str, allowed: Sequence[str], resolver: Resolver = resolve) -> str:
    """``url`` if a relay may pull from it; otherwise an :class:`InvalidInputError` that says
    why (and nothing is fetched)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _refuse("url", f"not a URL: {exc}", "Địa chỉ đài không hợp lệ") from None
    if parts.scheme not in ("http", "https"):
        raise _refuse(
            "scheme",
            f"a relay URL must start with http:// or https://, not {parts.scheme or '(none)'}:",
            "Địa chỉ đài phải bắt đầu bằng http:// hoặc https://",
        )
    if parts.username is not None or parts.password is not None:
        raise _refuse(
            "credentials",
            "a relay URL may not carry a user name or password",
            "Địa chỉ đài không được chứa tên đăng nhập hay mật khẩu",
        )
    host = parts.hostname
    if not host:
        raise _refuse("url", "the relay URL has no host", "Địa chỉ đài thiếu tên máy chủ")
    if host.lower() in {h.lower() for h in allowed}:
        return url
    for found in resolver(host, port):
        address = ipaddress.ip_address(found.split("%", 1)[0])
        if is_internal(address) and not allowed_by(address, allowed):
            raise _refuse(
                "internal",
                f"{host} is an internal address ({address}); a relay may pull from it only "
                "if it is listed in relay_allowed_hosts",
                f"{host} là địa chỉ nội bộ ({address}); chỉ tiếp âm từ đó khi quản trị viên "
                "cho phép trong cấu hình (relay_allowed_hosts)",
            )
    return url
