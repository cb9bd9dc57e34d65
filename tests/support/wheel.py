"""A wheel of this tree, made without a build backend, so installer tests run offline and fast.

A wheel is a zip of the packages and a ``.dist-info`` (METADATA, WHEEL, entry points, RECORD);
this writes one from ``pyproject.toml``'s own lists (packages, package data, dependencies,
extras, scripts), so ``pip install --no-deps --no-index`` installs what a release would hold.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import tomllib
import zipfile
from pathlib import Path
from typing import Any


def build_wheel(tree: Path, out_dir: Path) -> Path:
    project: dict[str, Any] = tomllib.loads((tree / "pyproject.toml").read_text())
    meta, tools = project["project"], project["tool"]["setuptools"]
    name, version = meta["name"], meta["version"]
    dist_info = f"{name}-{version}.dist-info"
    files = _package_files(tree, tools["packages"]["find"]["include"], tools["package-data"]["*"])
    wheel = out_dir / f"{name}-{version}-py3-none-any.whl"
    record: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:

        def add(arcname: str, data: bytes) -> None:
            zf.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arcname},sha256={digest.decode()},{len(data)}")

        for path in files:
            add(path.relative_to(tree).as_posix(), path.read_bytes())
        add(f"{dist_info}/METADATA", _metadata(meta).encode())
        add(
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: tests.support.wheel\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        )
        scripts = "".join(f"{k} = {v}\n" for k, v in meta.get("scripts", {}).items())
        add(f"{dist_info}/entry_points.txt", f"[console_scripts]\n{scripts}".encode())
        record.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel


def _package_files(tree: Path, include: list[str], data: list[str]) -> list[Path]:
    found: list[Path] = []
    for top in sorted(p for p in tree.iterdir() if (p / "__init__.py").exists()):
        if not any(fnmatch.fnmatch(top.name, pattern) for pattern in include):
            continue
        for path in sorted(top.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py" or any(fnmatch.fnmatch(path.name, p) for p in data):
                found.append(path)
    return found


def _metadata(meta: dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta['name']}",
        f"Version: {meta['version']}",
        f"Summary: {meta['description']}",
        f"Requires-Python: {meta['requires-python']}",
    ]
    lines += [f"Requires-Dist: {dep}" for dep in meta["dependencies"]]
    for extra, deps in meta.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {dep} ; extra == "{extra}"' for dep in deps]
    return "\n".join(lines) + "\n"
