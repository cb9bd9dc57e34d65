"""deploy/server/install.sh against a throw-away root: the files, the user and the units a real
server would have, a second run that changes nothing, and the controller started from what was
installed. Package and service managers are recording fakes (tests/deploy/fakes.py); Python's
venv and pip, `loa` and useradd (with --prefix) are the real ones."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from controller.nodes import broker, broker_tls
from tests.deploy.fakes import calls, install_fakes
from tests.support import wait_for
from tests.support.wheel import build_wheel

TREE = Path(__file__).resolve().parents[2]
INSTALL = TREE / "deploy" / "server" / "install.sh"
DOMAIN = "loa.xa-thu.vn"
PUBLIC_IP = "203.0.113.7"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer runs as root (it creates a system user)"
)


@dataclass
class Machine:
    root: Path
    bin: Path
    state: Path
    wheel: Path
    deps: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "FAKE_STATE": str(self.state),
            "FAKE_ROOT": str(self.root),
            # Offline and fast: the tree's own wheel, its dependencies come from the tests' venv
            "LOA_PIP_ARGS": "--no-deps --no-index",
            "PYTHONPATH": str(self.deps),
        }
        done = subprocess.run(
            ["bash", str(INSTALL), "--root", str(self.root), "--source", str(self.wheel), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=600,
        )
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def passwd(self, name: str) -> list[str]:
        line = next(
            ln
            for ln in self.path("/etc/passwd").read_text().splitlines()
            if ln.startswith(f"{name}:")
        )
        return line.split(":")


def fresh_root(root: Path) -> None:
    """What a minimal Debian has before the installer: accounts files and Debian's nginx site."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    sites = etc / "nginx" / "sites-enabled"
    sites.mkdir(parents=True)
    (etc / "nginx" / "sites-available").mkdir()
    (etc / "nginx" / "sites-available" / "default").write_text(
        "server { listen 80 default_server; }\n"
    )
    (sites / "default").symlink_to("/etc/nginx/sites-available/default")


@dataclass(frozen=True)
class Python:
    wheel: Path
    deps: Path


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Python:
    """This tree's wheel, and a PYTHONPATH of the tests' installed dependencies without this
    tree: the installed venv gets loalang from the wheel and nothing else (no PyPI here)."""
    deps = tmp_path_factory.mktemp("deps")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("loalang", "__editable__", "_loalang")):
            (deps / entry.name).symlink_to(entry)
    return Python(build_wheel(TREE, tmp_path_factory.mktemp("wheel")), deps)


def new_machine(base: Path, python: Python) -> Machine:
    machine = Machine(base / "root", base / "bin", base / "state", python.wheel, python.deps)
    fresh_root(machine.root)
    install_fakes(machine.bin, machine.state)
    return machine


@dataclass
class Installed:
    machine: Machine
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    first_calls: list[str]
    second_calls: list[str]
    tree_after_first: dict[str, tuple[object, ...]]
    tree_after_second: dict[str, tuple[object, ...]]


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` with its type, mode, owner and content (or link target)."""
    seen: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        st = path.lstat()
        if path.is_symlink():
            what: object = os.readlink(path)
        elif path.is_file():
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = "dir"
        seen[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, what)
    return seen


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, python: Python) -> Installed:
    machine = new_machine(tmp_path_factory.mktemp("server"), python)
    first = machine.run("--domain", DOMAIN, "--host", PUBLIC_IP, "--commune", "Xã Thử")
    first_calls = calls(machine.state)
    tree1 = snapshot(machine.root)
    second = machine.run("--domain", DOMAIN, "--host", PUBLIC_IP, "--commune", "Xã Thử")
    return Installed(
        machine,
        first,
        second,
        first_calls,
        calls(machine.state)[len(first_calls) :],
        tree1,
        snapshot(machine.root),
    )


def test_packages_user_and_the_distributions_broker(installed: Installed) -> None:
    m = installed.machine
    apt = [c for c in installed.first_calls if c.startswith("apt-get install")]
    assert len(apt) == 1
    assert set(apt[0].split()) >= {"python3-venv", "mosquitto", "nginx"}
    # Debian's own mosquitto.service would hold port 1883: it is turned off for loa-broker
    assert "systemctl disable --now mosquitto.service" in installed.first_calls
    name, _, uid, gid, _, home, shell = m.passwd("loa")
    assert (name, home, shell) == ("loa", "/var/lib/loalang", "/usr/sbin/nologin")
    assert int(uid) < 1000  # a system account
    assert f"loa:x:{gid}:" in m.path("/etc/group").read_text()


def test_units_are_the_projects_hardened_ones_enabled_and_started(installed: Installed) -> None:
    m = installed.machine
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
        assert f"systemctl enable {unit}" in installed.first_calls
        assert f"systemctl start {unit}" in installed.first_calls
    assert "systemctl daemon-reload" in installed.first_calls


def test_the_data_directory_is_the_service_accounts_alone(installed: Installed) -> None:
    m = installed.machine
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
    installed: Installed,
) -> None:
    m = installed.machine
    site = m.path("/etc/nginx/sites-available/loalang.conf").read_text()
    assert "@" not in re.sub(r"#.*", "", site)  # every placeholder filled
    assert f"server_name {DOMAIN};" in site
    assert "ssl_certificate /var/lib/loalang/broker/tls/web.crt;" in site
    assert "ssl_certificate_key /var/lib/loalang/broker/tls/web.key;" in site
    assert "proxy_pass http://127.0.0.1:8080;" in site
    assert "Strict-Transport-Security" not in site  # a commune CA: HSTS would lock browsers out
    enabled = m.path("/etc/nginx/sites-enabled")
    assert os.readlink(enabled / "loalang.conf") == "/etc/nginx/sites-available/loalang.conf"
    assert not (enabled / "default").exists()
    assert "nginx -t -q" in installed.first_calls


def test_secrets_are_generated_and_shown_once(installed: Installed) -> None:
    m = installed.machine
    out = installed.first.stdout
    password = re.search(r"^  password:  (\S+)$", out, re.M)
    token = re.search(r"^  API token: (\S+)$", out, re.M)
    assert password, out
    assert token, out
    assert len(password[1]) >= 16
    tls = m.path("/var/lib/loalang/broker/tls")
    assert broker_tls.fingerprint(tls / "web.crt") in out  # for the enrolment label
    assert broker_tls.fingerprint(tls / "ca.crt") in out
    for path in m.root.rglob("*"):  # kept nowhere in clear (the database holds a hash)
        if path.is_file() and not path.is_symlink():
            assert password[1].encode() not in path.read_bytes(), path
    assert "password" not in installed.second.stdout  # a second run shows nothing again


def test_a_second_run_changes_nothing(installed: Installed) -> None:
    assert installed.tree_after_second == installed.tree_after_first
    quiet = ("systemctl is-enabled", "systemctl is-active")
    changing = [c for c in installed.second_calls if not c.startswith(quiet)]
    assert changing == [], installed.second_calls


def test_bad_input_is_refused_before_anything_changes(tmp_path: Path, python: Python) -> None:
    m = new_machine(tmp_path, python)
    before = snapshot(m.root)
    for args in (["--domain", "loa;rm -rf /"], ["--host", "a b"], ["--acme", "nobody"], ["--x"]):
        done = m.run("--domain", DOMAIN, *args, check=False)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith("install.sh:"), done.stderr
    assert snapshot(m.root) == before
    assert calls(m.state) == []


def test_acme_gets_a_lets_encrypt_certificate_once(tmp_path: Path, python: Python) -> None:
    m = new_machine(tmp_path, python)
    m.run("--domain", DOMAIN, "--acme", "ky-thuat@xa-thu.vn")
    certbot = [c for c in calls(m.state) if c.startswith("certbot")]
    assert len(certbot) == 1
    assert "--webroot-path /var/www/loalang-acme" in certbot[0]
    assert "--deploy-hook systemctl reload nginx.service" in certbot[0]
    site = m.path("/etc/nginx/sites-available/loalang.conf").read_text()
    assert f"ssl_certificate /etc/letsencrypt/live/{DOMAIN}/fullchain.pem;" in site
    assert "Strict-Transport-Security" in site
    count = len(calls(m.state))
    m.run("--domain", DOMAIN, "--acme", "ky-thuat@xa-thu.vn")
    assert not [c for c in calls(m.state)[count:] if c.startswith("certbot")]


def exec_start(machine: Machine, unit: str) -> list[str]:
    """The unit's ExecStart, its absolute paths moved under the test's root."""
    text = machine.path(f"/etc/systemd/system/{unit}").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("ExecStart="))
    return [
        str(machine.path(a)) if a.startswith(("/opt/", "/var/")) else a
        for a in shlex.split(line.removeprefix("ExecStart="))
    ]


@pytest.fixture
def running(installed: Installed) -> Iterator[tuple[Installed, str]]:
    """Broker and controller started from the installed units' ExecStart lines."""
    m = installed.machine
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
    procs = []
    try:
        for unit in ("loa-broker.service", "loa-controller.service"):
            procs.append(
                subprocess.Popen(
                    exec_start(m, unit),
                    env=env,
                    cwd=m.path("/var/lib/loalang"),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        yield installed, f"http://127.0.0.1:{http}"
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(15)
            assert proc.stderr is not None
            proc.stderr.close()


def test_the_installed_controller_answers_and_the_shown_password_logs_in(
    running: tuple[Installed, str],
) -> None:
    installed, url = running
    m = installed.machine

    def healthy() -> bool:
        try:
            return bool(httpx.get(f"{url}/api/v1/health", timeout=1).json()["status"] == "ok")
        except (httpx.HTTPError, ValueError, KeyError):
            return False

    wait_for(healthy, 60, "the installed controller")
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
    password = re.search(r"^  password:  (\S+)$", installed.first.stdout, re.M)
    assert password
    with httpx.Client(base_url=url) as web:
        csrf = web.get("/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = web.post("/login", data={"username": "admin", "password": password[1], "csrf": csrf})
        assert r.status_code == 303, r.text
