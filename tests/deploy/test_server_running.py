"""The installed server running: broker and controller started from the installed units'
ExecStart lines, and nginx with the installed site serving them over HTTPS (real nginx)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from controller.nodes import broker
from tests.deploy.server_machine import DOMAIN, Installed, exec_start
from tests.support import wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer runs as root (it creates a system user)"
)


@dataclass(frozen=True)
class Running:
    installed: Installed
    http_port: int
    mqtt_tls_port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.http_port}"

    def path(self, absolute: str) -> Path:
        return self.installed.machine.path(absolute)

    def client(self) -> httpx.Client:
        """HTTPS to the controller itself, verifying its certificate for the domain against the
        commune CA (on 127.0.0.1, so the name goes in SNI, where the check takes it from)."""
        ca = ssl.create_default_context(cafile=self.path("/var/lib/loalang/broker/tls/ca.crt"))
        return httpx.Client(
            base_url=self.url,
            verify=ca,
            timeout=10,
            event_hooks={"request": [lambda r: r.extensions.update(sni_hostname=DOMAIN)]},
        )


def _healthy(running: Running) -> bool:
    try:
        with running.client() as c:
            return bool(c.get("/api/v1/health").json()["status"] == "ok")
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@pytest.fixture(scope="module")
def running(server_installed: Installed) -> Iterator[Running]:
    """Broker and controller started from the installed units' ExecStart lines."""
    m = server_installed.machine
    mqtt, tls, http = broker.free_port(), broker.free_port(), broker.free_port()
    env = {
        **os.environ,
        # The installed venv has loalang itself (--no-deps); its dependencies are the tests'.
        "PYTHONPATH": str(m.deps),
        # LOA_* overrides, as /etc/loalang/controller.env would give them: ports free here
        "LOA_MQTT_PORT": str(mqtt),
        "LOA_MQTT_TLS_PORT": str(tls),
        "LOA_HTTP_PORT": str(http),
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for unit in ("loa-broker.service", "loa-controller.service"):
            procs.append(
                subprocess.Popen(
                    exec_start(m, unit),
                    env=env,
                    cwd=m.path("/var/lib/loalang"),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        done = Running(server_installed, http, tls)
        wait_for(lambda: _healthy(done), 60, "the installed controller")
        yield done
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(15)


def test_the_installed_controller_answers_and_the_shown_password_logs_in(
    running: Running,
) -> None:
    m = running.installed.machine
    python = exec_start(m, "loa-controller.service")[0].replace("/bin/loa", "/bin/python")
    where = subprocess.run(
        [python, "-c", "import controller; print(controller.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(m.deps)},
        cwd=m.root,  # not this tree, which `python -c` would put first on the path
    ).stdout
    assert where.startswith(str(m.path("/opt/loalang/.venv"))), where  # the installed code
    password = re.search(r"^  password:  (\S+)$", running.installed.first.stdout, re.M)
    assert password
    with running.client() as web:
        csrf = web.get("/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = web.post("/login", data={"username": "admin", "password": password[1], "csrf": csrf})
        assert r.status_code == 303, r.text


def test_the_installed_broker_serves_tls_for_the_domain_signed_by_the_commune_ca(
    running: Running,
) -> None:
    ctx = ssl.create_default_context(cafile=running.path("/var/lib/loalang/broker/tls/ca.crt"))
    with (
        socket.create_connection(("127.0.0.1", running.mqtt_tls_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def _https(port: int, ca: Path, path: str) -> tuple[str, bytes]:
    """One GET over TLS to 127.0.0.1, verifying the certificate for DOMAIN against ``ca``."""
    ctx = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


@pytest.fixture
def nginx(running: Running, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Debian's nginx with the installed site, on free ports, in front of the controller."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is missing: `make test` installs it")
    https_port, http_port = broker.free_port(), broker.free_port()
    site = running.path("/etc/nginx/sites-available/loalang.conf").read_text()
    site = (
        site.replace("listen 443 ", f"listen {https_port} ")
        .replace("listen [::]:443 ", f"listen [::]:{https_port} ")
        .replace("listen 80;", f"listen {http_port};")
        .replace("listen [::]:80;", f"listen [::]:{http_port};")
        .replace("127.0.0.1:8080", f"127.0.0.1:{running.http_port}")
        .replace("/var/lib/loalang", str(running.path("/var/lib/loalang")))
    )
    (tmp_path / "loalang.conf").write_text(site)
    temp = "\n".join(
        f"  {kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        f"events {{}}\nhttp {{\n  access_log off;\n{temp}\n"
        f"  uwsgi_temp_path {tmp_path / 'uwsgi'};\n  scgi_temp_path {tmp_path / 'scgi'};\n"
        f"  include {tmp_path / 'loalang.conf'};\n}}\n"
    )
    conf = ["-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    check = subprocess.run([binary, "-t", *conf], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, *conf, "-g", "daemon off;"], stderr=subprocess.PIPE)

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
        except OSError:
            return False
        return True

    try:
        wait_for(listening, 10, "nginx")
        yield https_port, http_port
    finally:
        proc.terminate()
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()


def test_nginx_serves_the_app_over_https_with_the_commune_certificate(
    running: Running, nginx: tuple[int, int]
) -> None:
    https_port, http_port = nginx
    ca = running.path("/var/lib/loalang/broker/tls/ca.crt")
    head, body = _https(https_port, ca, "/api/v1/health")
    assert head.startswith("HTTP/1.1 200"), head
    assert b'"ok"' in body
    # The controller sees the request came over HTTPS (X-Forwarded-Proto from 127.0.0.1):
    # its cookies are Secure without forcing secure_cookies.
    head, _ = _https(https_port, ca, "/login")
    cookies = [ln for ln in head.split("\r\n") if ln.lower().startswith("set-cookie:")]
    assert cookies, head
    assert all("secure" in c.lower() for c in cookies), cookies
    plain = httpx.get(f"http://127.0.0.1:{http_port}/login", headers={"Host": DOMAIN})
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://{DOMAIN}/login"
