"""A throw-away Raspberry Pi for `deploy/node/install.sh --root`: the files of a fresh
Raspberry Pi OS, recording fakes of the commands that would act on this machine, an offline
wheel of this tree, and a checksum of everything under the root.

The fakes keep just enough state to answer the questions the installer asks (is a package
installed, is the unit enabled or active) and log every call, one line each, to ``calls.log``.
useradd, groupadd and usermod are the real ones, with their own ``--root``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy/node/install.sh"

# Users and groups of a fresh Raspberry Pi OS: `audio` exists (the first user is in it), `gpio`
# is made by a package the installer does not pull in, so it must create it.
PASSWD = "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n"
GROUP = "root:x:0:\naudio:x:29:pi\npi:x:1000:\n"
SHADOW = "root:*:19000:0:99999:7:::\npi:!:19000:0:99999:7:::\n"
GSHADOW = "root:*::\naudio:*::pi\npi:!::\n"

FAKE = r"""#!/bin/sh
# A recording stand-in for {name}: logs the call, keeps the state the installer asks about.
state="$LOA_FAKE_STATE"
echo "{name} $*" >>"$state/calls.log"
{body}
"""
FAKES = {
    "apt-get": r"""
if [ "$1" = install ]; then
    for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >>"$state/dpkg" ;; esac; done
fi
""",
    "dpkg-query": r"""
for p in "$@"; do :; done  # the package is the last argument
grep -qx "$p" "$state/dpkg" 2>/dev/null || exit 1
printf 'install ok installed'
""",
    "systemctl": r"""
unit=""; for a in "$@"; do case "$a" in *.service) unit=$a ;; esac; done
case "$1" in
    enable) touch "$state/enabled.$unit" ;;
    start|restart) touch "$state/active.$unit" ;;
    stop) rm -f "$state/active.$unit" ;;
    is-enabled) [ -e "$state/enabled.$unit" ] ;;
    is-active) [ -e "$state/active.$unit" ] ;;
esac
""",
}
QUERIES = ("dpkg-query", "systemctl is-enabled", "systemctl is-active")


@dataclass
class Pi:
    root: Path
    state: Path
    fakes: Path
    wheel: Path

    def run(self, *args: str, package: bool = True) -> subprocess.CompletedProcess[str]:
        """install.sh --root ROOT [--package WHEEL] ARGS, offline; its calls are logged."""
        env = {
            "PATH": f"{self.fakes}:/usr/sbin:/usr/bin:/sbin:/bin",
            "LOA_FAKE_STATE": str(self.state),
            "PIP_NO_INDEX": "1",  # offline: the wheel only, its dependencies are the test's
            "PIP_NO_DEPS": "1",
            "HOME": str(self.state),
            "LANG": "C.UTF-8",
        }
        pkg = ["--package", str(self.wheel)] if package else []
        return subprocess.run(
            ["sh", str(INSTALL), "--root", str(self.root), *pkg, *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=240,
        )

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def forget_calls(self) -> None:
        (self.state / "calls.log").unlink(missing_ok=True)

    def acting_calls(self) -> list[str]:
        """The calls that would change the machine (not the questions)."""
        return [c for c in self.calls() if not c.startswith(QUERIES)]

    def entry(self, file: str, name: str) -> list[str]:
        for line in (self.root / "etc" / file).read_text().splitlines():
            if line.split(":")[0] == name:
                return line.split(":")
        raise AssertionError(f"no {name} in /etc/{file}")


def make_pi(base: Path, wheel: Path, *, installed: tuple[str, ...] = ("chrony",)) -> Pi:
    root, state, fakes = base / "root", base / "state", base / "fakes"
    for d in (root / "etc", root / "usr/sbin", state, fakes):
        d.mkdir(parents=True)
    for name, text in (
        ("passwd", PASSWD),
        ("group", GROUP),
        ("shadow", SHADOW),
        ("gshadow", GSHADOW),
    ):
        (root / "etc" / name).write_text(text)
    (root / "etc/shadow").chmod(0o640)
    (root / "etc/gshadow").chmod(0o640)
    nologin = root / "usr/sbin/nologin"
    nologin.write_text("#!/bin/sh\nexit 1\n")
    nologin.chmod(0o755)
    (state / "dpkg").write_text("".join(f"{p}\n" for p in installed))
    for name, body in FAKES.items():
        fake = fakes / name
        fake.write_text(FAKE.format(name=name, body=body))
        fake.chmod(0o755)
    return Pi(root, state, fakes, wheel)


def tree_checksum(root: Path) -> dict[str, tuple[int, int, int, int, str]]:
    """Every path under ``root`` with its mode, owner, group, modification time and content
    (or link target): a file rewritten with the same bytes counts as a change too."""
    seen: dict[str, tuple[int, int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                content = "-> " + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = "dir"
            seen[str(path.relative_to(root))] = (
                st.st_mode,
                st.st_uid,
                st.st_gid,
                st.st_mtime_ns,
                content,
            )
    return seen
