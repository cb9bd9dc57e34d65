"""Real ``loalang`` wheels of this tree, built in a test without a build backend, so installer
and update tests run offline and fast. A wheel is a zip of the packages and a ``.dist-info``
(METADATA, WHEEL, entry points, RECORD of every file's sha256); this one is written from
``pyproject.toml``'s own lists (packages, package data, dependencies, extras, scripts), so
``pip install --no-deps --no-index`` installs what a release would hold.

``version`` stamps another version and ``replace`` swaps a file's text (say, an agent that fails
at start), so a test makes "the next release" and "a broken release" of the code it tests.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(
    out_dir: Path, version: str | None = None, *, replace: dict[str, str] | None = None
) -> Path:
    replace = replace or {}
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta, tools = project["project"], project["tool"]["setuptools"]
    name, version = meta["name"], version or meta["version"]
    files = {
        path.relative_to(ROOT).as_posix(): path.read_bytes()
        for path in _package_files(tools["packages"]["find"]["include"], tools["package-data"]["*"])
    }
    missing = set(replace) - set(files)
    assert not missing, f"no such files to replace: {missing}"
    files.update({file: text.encode() for file, text in replace.items()})
    dist_info = f"{name}-{version}.dist-info"
    scripts = "".join(f"{k} = {v}\n" for k, v in meta.get("scripts", {}).items())
    files[f"{dist_info}/METADATA"] = _metadata(meta, version).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests.support.wheels\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{dist_info}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()
    record = [f"{file},sha256={_b64(data)},{len(data)}" for file, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for file, data in files.items():
            zf.writestr(file, data)
    return wheel


def _package_files(include: list[str], data: list[str]) -> list[Path]:
    found: list[Path] = []
    for top in sorted(p for p in ROOT.iterdir() if (p / "__init__.py").exists()):
        if not any(fnmatch.fnmatch(top.name, pattern) for pattern in include):
            continue
        for path in sorted(top.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py" or any(fnmatch.fnmatch(path.name, p) for p in data):
                found.append(path)
    return found


def _metadata(meta: dict[str, Any], version: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta['name']}",
        f"Version: {version}",
        f"Summary: {meta['description']}",
        f"Requires-Python: {meta['requires-python']}",
    ]
    lines += [f"Requires-Dist: {dep}" for dep in meta["dependencies"]]
    for extra, deps in meta.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {_for_extra(dep, extra)}" for dep in deps]
    return "\n".join(lines) + "\n"


def _for_extra(dep: str, extra: str) -> str:
    """``dep`` required with ``extra``, keeping a marker it has (one ``;`` per requirement)."""
    requirement, _, marker = dep.partition(";")
    condition = f'extra == "{extra}"'
    if marker.strip():
        condition = f"({marker.strip()}) and {condition}"
    return f"{requirement.strip()} ; {condition}"


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
