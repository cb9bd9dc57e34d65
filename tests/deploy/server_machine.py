"""A throw-away root for deploy/server/install.sh: the machine, the offline Python it installs
from, and what to compare between runs. Package and service managers are recording fakes
(tests/deploy/fakes.py); Python's venv and pip, `loa` and useradd (with --prefix) are real."""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.fakes import install_fakes
from tests.support.wheels import build_wheel

TREE = Path(__file__).resolve().parents[2]
INSTALL = TREE / "deploy" / "server" / "install.sh"
DOMAIN = "loa.xa-thu.vn"
PUBLIC_IP = "203.0.113.7"


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


def make_python(base: Path) -> Python:
    """This tree's wheel, and a PYTHONPATH of the tests' installed dependencies without this
    tree: the installed venv gets loalang from the wheel and nothing else (no PyPI here)."""
    deps = base / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("loalang", "__editable__", "_loalang")):
            (deps / entry.name).symlink_to(entry)
    wheels = base / "wheel"
    wheels.mkdir()
    return Python(build_wheel(wheels), deps)


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


def exec_start(machine: Machine, unit: str) -> list[str]:
    """The unit's ExecStart, its absolute paths moved under the test's root."""
    text = machine.path(f"/etc/systemd/system/{unit}").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("ExecStart="))
    return [
        str(machine.path(a)) if a.startswith(("/opt/", "/var/")) else a
        for a in shlex.split(line.removeprefix("ExecStart="))
    ]
