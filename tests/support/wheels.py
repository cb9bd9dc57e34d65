"""Real ``loalang`` wheels of this tree, built in a test without a build backend: a wheel is a
zip with the packages, METADATA, WHEEL, entry points and a RECORD of every file's sha256.

``replace`` swaps a file's text (say, an agent that fails at start) and ``version`` stamps a
new version, so a test makes "the next release" and "a broken release" of the code it tests.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("protocol", "controller", "node_agent", "audio", "schedules")


def build_wheel(out_dir: Path, version: str, *, replace: dict[str, str] | None = None) -> Path:
    replace = replace or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"loalang-{version}-py3-none-any.whl"
    dist_info = f"loalang-{version}.dist-info"
    files: dict[str, bytes] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = path.relative_to(ROOT).as_posix()
                files[name] = replace[name].encode() if name in replace else path.read_bytes()
    missing = set(replace) - set(files)
    assert not missing, f"no such files to replace: {missing}"
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: loalang\nVersion: {version}\n".encode()
    )
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests.support.wheels\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{dist_info}/entry_points.txt"] = b"[console_scripts]\nloa = controller.cli:main\n"
    record = [f"{name},sha256={_b64(data)},{len(data)}" for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return wheel


def clean_env() -> dict[str, str]:
    """This process's environment without PYTHONPATH: a release must run its own code."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def release_venv(root: Path, wheel: Path, version: str) -> Path:
    """``root/releases/VERSION``, a virtualenv running ``wheel``, and ``root/current`` on it,
    as a Pi's installer leaves them, with the test's own dependencies."""
    venv = root / "releases" / version
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    lend_test_dependencies(venv)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--force-reinstall",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        env=clean_env(),
    )
    (root / "current").symlink_to(f"releases/{version}")
    return venv


def lend_test_dependencies(venv: Path) -> None:
    """Let ``venv`` import the test's own dependencies, through a path file in its
    site-packages (a Pi's venv has them installed; no index is needed either way)."""
    purelib = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
