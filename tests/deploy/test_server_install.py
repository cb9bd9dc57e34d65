"""deploy/server/install.sh against a throw-away root: the packages, the user, the units and
the files a real server would have; a second run that changes nothing; bad options refused."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from controller.nodes import broker_tls, web_tls
from tests.deploy.fakes import calls
from tests.deploy.server_machine import (
    DOMAIN,
    PUBLIC_IP,
    TREE,
    Installed,
    Python,
    new_machine,
    snapshot,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer runs as root (it creates a system user)"
)


def test_packages_user_and_the_distributions_broker(server_installed: Installed) -> None:
    m = server_installed.machine
    apt = [c for c in server_installed.first_calls if c.startswith("apt-get install")]
    assert len(apt) == 1
    assert set(apt[0].split()) >= {"python3-venv", "mosquitto", "nginx"}
    # Debian's own mosquitto.service would hold port 1883: it is turned off for loa-broker
    assert "systemctl disable --now mosquitto.service" in server_installed.first_calls
    name, _, uid, gid, _, home, shell = m.passwd("loa")
    assert (name, home, shell) == ("loa", "/var/lib/loalang", "/usr/sbin/nologin")
    assert int(uid) < 1000  # a system account
    assert f"loa:x:{gid}:" in m.path("/etc/group").read_text()


def test_units_are_the_projects_hardened_ones_enabled_and_started(
    server_installed: Installed,
) -> None:
    m = server_installed.machine
    for unit in ("loa-broker.service", "loa-controller.service"):
        path = m.path(f"/etc/systemd/system/{unit}")
        assert path.read_bytes() == (TREE / "deploy" / "systemd" / unit).read_bytes()
        assert path.stat().st_mode & 0o777 == 0o644
        text = path.read_text()
        for line in (
            "User=loa",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/loalang",
            "PrivateTmp=yes",
            "ProtectHome=yes",
            "CapabilityBoundingSet=",
            "UMask=0077",
        ):
            assert line in text.splitlines(), (unit, line)
        assert f"systemctl enable {unit}" in server_installed.first_calls
        assert f"systemctl start {unit}" in server_installed.first_calls
    assert "systemctl daemon-reload" in server_installed.first_calls


def test_the_data_directory_is_the_service_accounts_alone(server_installed: Installed) -> None:
    m = server_installed.machine
    _, _, uid, gid, *_ = m.passwd("loa")
    data = m.path("/var/lib/loalang")
    assert (data.stat().st_mode & 0o777, data.stat().st_uid) == (0o700, int(uid))
    for path in data.rglob("*"):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (int(uid), int(gid)), path
        assert st.st_mode & 0o077 == 0, path
    config = json.loads((data / "controller.json").read_text())
    assert config["mqtt_password"]  # generated at install time, not a default
    assert (config["mqtt_tls_port"], config["mqtt_tls_hosts"]) == (8883, [DOMAIN, PUBLIC_IP])
    assert broker_tls.cert_hosts(data / "broker" / "tls" / "web.crt") == [DOMAIN, PUBLIC_IP]
    env = m.path("/etc/loalang/controller.env")
    assert (env.stat().st_mode & 0o777, env.stat().st_gid) == (0o640, int(gid))


def test_nginx_serves_the_web_certificate_and_debians_default_site_is_off(
    server_installed: Installed,
) -> None:
    m = server_installed.machine
    site = m.path("/etc/nginx/sites-available/loalang.conf").read_text()
    assert "@" not in re.sub(r"#.*", "", site)  # every placeholder filled
    assert f"server_name {DOMAIN};" in site
    assert "ssl_certificate /var/lib/loalang/broker/tls/web.crt;" in site
    assert "ssl_certificate_key /var/lib/loalang/broker/tls/web.key;" in site
    assert "proxy_pass https://127.0.0.1:8080;" in site  # the controller serves TLS itself too
    assert "proxy_ssl_trusted_certificate /var/lib/loalang/broker/tls/ca.crt;" in site
    assert "Strict-Transport-Security" not in site  # a commune CA: HSTS would lock browsers out
    enabled = m.path("/etc/nginx/sites-enabled")
    assert os.readlink(enabled / "loalang.conf") == "/etc/nginx/sites-available/loalang.conf"
    assert not (enabled / "default").exists()
    assert "nginx -t -q" in server_installed.first_calls


def test_secrets_are_generated_and_shown_once(server_installed: Installed) -> None:
    m = server_installed.machine
    out = server_installed.first.stdout
    password = re.search(r"^  password:  (\S+)$", out, re.M)
    token = re.search(r"^  API token: (\S+)$", out, re.M)
    assert password, out
    assert token, out
    assert len(password[1]) >= 16
    tls = m.path("/var/lib/loalang/broker/tls")
    for cert in ("web.crt", "ca.crt"):  # the web app's is the one labels print and Pis pin
        assert web_tls.grouped(web_tls.fingerprint((tls / cert).read_bytes())) in out
    for path in m.root.rglob("*"):  # kept nowhere in clear (the database holds a hash)
        if path.is_file() and not path.is_symlink():
            assert password[1].encode() not in path.read_bytes(), path
    assert "password" not in server_installed.second.stdout  # a second run shows nothing again


def test_a_second_run_changes_nothing(server_installed: Installed) -> None:
    assert server_installed.tree_after_second == server_installed.tree_after_first
    quiet = ("systemctl is-enabled", "systemctl is-active")
    changing = [c for c in server_installed.second_calls if not c.startswith(quiet)]
    assert changing == [], server_installed.second_calls


def test_bad_input_is_refused_before_anything_changes(
    tmp_path: Path, server_python: Python
) -> None:
    m = new_machine(tmp_path, server_python)
    before = snapshot(m.root)
    bad = (
        ["--domain", "loa;rm -rf /"],
        ["--host", "a b"],
        ["--acme", "nobody"],
        ["--https-port", "0"],
        ["--source", str(tmp_path)],
        ["--x"],
    )
    for args in bad:
        done = m.run("--domain", DOMAIN, *args, check=False)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith("install.sh:"), done.stderr
    assert snapshot(m.root) == before
    assert calls(m.state) == []


def test_acme_gets_a_lets_encrypt_certificate_once_and_client_certs_pass_on(
    tmp_path: Path, server_python: Python
) -> None:
    m = new_machine(tmp_path, server_python)
    m.run("--domain", DOMAIN, "--acme", "ky-thuat@xa-thu.vn", "--client-certs")
    config = json.loads(m.path("/var/lib/loalang/controller.json").read_text())
    assert config["mqtt_tls_client_certs"] is True  # passed on to `loa tls init`
    certbot = [c for c in calls(m.state) if c.startswith("certbot")]
    assert len(certbot) == 1
    assert "--webroot-path /var/www/loalang-acme" in certbot[0]
    assert "--deploy-hook systemctl reload nginx.service" in certbot[0]
    site = m.path("/etc/nginx/sites-available/loalang.conf").read_text()
    assert f"ssl_certificate /etc/letsencrypt/live/{DOMAIN}/fullchain.pem;" in site
    assert "Strict-Transport-Security" in site
    count = len(calls(m.state))
    m.run("--domain", DOMAIN, "--acme", "ky-thuat@xa-thu.vn", "--client-certs")
    assert not [c for c in calls(m.state)[count:] if c.startswith("certbot")]
