"""Adding a release: a ``loalang`` wheel checked, stored by its sha256 and signed.

A wheel is refused (and nothing is stored) unless it is a zip whose metadata names ``loalang``
at the version its file name says, and which carries the node agent.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.errors import ConflictError, InvalidInputError
from controller.models import Release
from controller.private_files import private_dir
from protocol.messages import ReleaseRef
from protocol.releases import sign_release

MAX_WHEEL_BYTES = 200 * 1024 * 1024  # ReleaseRef's bound; a loalang wheel is about 1 MB
_NAME = re.compile(r"^loalang-(?P<version>[^-]+)-[^-]+-[^-]+-[^-]+\.whl$")
_AGENT = "node_agent/agent.py"


def _bad(code: str, en: str, vi: str) -> InvalidInputError:
    return InvalidInputError(f"release.{code}", en, vi, field="wheel")


def read_version(wheel: Path) -> str:
    """The version a ``loalang`` wheel declares, after checking that it is one."""
    match = _NAME.match(wheel.name)
    if match is None:
        raise _bad(
            "not_loalang_wheel",
            f"{wheel.name} is not named like a loalang wheel (loalang-VERSION-py3-none-any.whl)",
            f"{wheel.name} không phải tên một bản loalang (loalang-PHIÊN_BẢN-py3-none-any.whl)",
        )
    version = match["version"]
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            meta_name = f"loalang-{version}.dist-info/METADATA"
            if meta_name not in names or _AGENT not in names:
                raise _bad(
                    "incomplete_wheel",
                    f"{wheel.name} lacks {meta_name} or {_AGENT}",
                    f"{wheel.name} thiếu {meta_name} hoặc {_AGENT}",
                )
            meta = HeaderParser().parsestr(zf.read(meta_name).decode("utf-8"))
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:
        raise _bad(
            "unreadable_wheel",
            f"{wheel.name} is not a readable wheel: {exc}",
            f"Không đọc được {wheel.name}: {exc}",
        ) from None
    said = f"{meta.get('Name')} {meta.get('Version')}"
    if meta.get("Name", "").lower() != "loalang" or meta.get("Version") != version:
        raise _bad(
            "metadata_mismatch",
            f"{wheel.name} declares {said}, not loalang {version}",
            f"{wheel.name} ghi {said}, không phải loalang {version}",
        )
    return version


def add_release(
    s: Session, key: Ed25519PrivateKey, release_dir: Path, wheel: Path, actor: str
) -> Release:
    """Check, store and sign ``wheel`` in ``s``; adding the same wheel again changes nothing."""
    if not wheel.is_file():
        raise _bad("no_file", f"{wheel} is not a file", f"{wheel} không phải một tệp")
    size = wheel.stat().st_size
    if size > MAX_WHEEL_BYTES:
        raise _bad(
            "too_large",
            f"{wheel.name} is {size} bytes, over {MAX_WHEEL_BYTES}",
            f"{wheel.name} nặng {size} byte, quá {MAX_WHEEL_BYTES}",
        )
    version = read_version(wheel)
    sha256 = _digest(wheel)
    existing = s.get(Release, version)
    if existing is not None:
        if existing.sha256 == sha256:
            return existing
        raise ConflictError(
            "release.version_taken",
            f"version {version} is already a release with other contents; raise the version",
            f"Đã có bản {version} với nội dung khác; hãy tăng số phiên bản",
        )
    if s.scalar(select(Release).where(Release.sha256 == sha256)) is not None:
        raise ConflictError(
            "release.same_wheel",
            f"this wheel is already a release under another version ({wheel.name})",
            f"Tệp này đã là một bản phát hành với phiên bản khác ({wheel.name})",
        )
    try:
        ref = sign_release(key, version, wheel.name, sha256, size)
    except ValidationError as exc:
        raise _bad(
            "bad_name", f"{wheel.name}: {exc.errors()[0]['msg']}", f"{wheel.name}: tên không hợp lệ"
        ) from None
    stored = _store(release_dir, wheel, sha256)
    release = Release(
        version=ref.version,
        filename=ref.filename,
        sha256=ref.sha256,
        size=ref.size,
        signature=ref.signature,
        added_by=actor,
    )
    s.add(release)
    audit.record(s, actor, "release.add", version, sha256=sha256, size=size, path=str(stored))
    return release


def release_ref(release: Release) -> ReleaseRef:
    return ReleaseRef(
        version=release.version,
        filename=release.filename,
        sha256=release.sha256,
        size=release.size,
        signature=release.signature,
    )


def _store(release_dir: Path, wheel: Path, sha256: str) -> Path:
    """Copy into the store under its sha256 (what nodes ask for), checked after the copy."""
    private_dir(release_dir)
    final = release_dir / f"{sha256}.whl"
    tmp = release_dir / f".{sha256}.tmp"
    shutil.copyfile(wheel, tmp)
    if _digest(tmp) != sha256:  # changed while we read it: refuse rather than sign a guess
        tmp.unlink()
        raise _bad(
            "changed",
            f"{wheel.name} changed while it was read",
            f"{wheel.name} bị sửa khi đang đọc",
        )
    os.replace(tmp, final)
    return final


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
