"""`loa node enrol https://CONTROLLER CODE --fingerprint SHA256`: a Pi fetches its bundle.

The controller's HTTPS certificate is self-signed (no CA vouches for a commune's server), so the
Pi trusts it by the SHA-256 fingerprint printed on the point's label: the TLS handshake is made
first, the certificate's fingerprint compared, and only then is the code sent. A mismatch sends
nothing and writes nothing. The files are written 0600 and, when run as root, given to the
service account. Runs on a Pi with the ``node`` extra only: the standard library and
``node_agent``, never ``controller``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import pwd
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from node_agent.config import NodeConfig

FILES = ("node.json", "controller.pub", "ca.crt")
MAX_RESPONSE = 1024 * 1024  # a bundle is a few KiB; more is not a bundle
DEFAULT_DIR = Path("/etc/loalang")
DEFAULT_DATA_DIR = Path("/var/lib/loalang")


class EnrolError(RuntimeError):
    """Enrolment failed; nothing was written."""


@dataclass(frozen=True)
class Enrolled:
    node_id: str
    written: list[Path]
    owner: str | None  # the account the files were given to (None: left as the caller's)


def parse_fingerprint(text: str) -> bytes:
    """A SHA-256 fingerprint as printed on the label (groups of four), by openssl (colons) or
    with a ``SHA256:`` prefix, in any case."""
    hex_text = re.sub(r"[\s:]", "", re.sub(r"(?i)^sha-?256[:=]?", "", text.strip()))
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", hex_text):
        raise EnrolError(
            f"{text!r} is not a SHA-256 fingerprint: 64 hexadecimal digits, as on the label"
        )
    return bytes.fromhex(hex_text)


def fetch(url: str, code: str, fingerprint: bytes, *, timeout: float = 30.0) -> dict[str, str]:
    """The bundle's files from the controller at ``url``, its certificate checked first."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise EnrolError(f"{url!r}: enrolment needs the controller's https:// address")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The pin below is the check: the certificate is self-signed and no CA is asked.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(
        parts.hostname, parts.port or 443, context=context, timeout=timeout
    )
    try:
        try:
            conn.connect()
        except OSError as exc:
            raise EnrolError(f"cannot reach {url}: {exc}") from None
        assert isinstance(conn.sock, ssl.SSLSocket)
        presented = hashlib.sha256(conn.sock.getpeercert(binary_form=True) or b"").digest()
        if presented != fingerprint:
            raise EnrolError(
                "the controller's certificate does not match the fingerprint on the label "
                f"(it presented {presented.hex().upper()}): nothing was sent or written. "
                "Check the address and the fingerprint; someone may be in between."
            )
        path = parts.path.rstrip("/") + "/api/v1/enrol"
        body = json.dumps({"code": code})
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read(MAX_RESPONSE + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise EnrolError(f"enrolment at {url} failed: {exc}") from None
    finally:
        conn.close()
    return _files(response.status, raw)


def _files(status: int, raw: bytes) -> dict[str, str]:
    try:
        data = json.loads(raw) if len(raw) <= MAX_RESPONSE else None
    except ValueError:
        data = None
    if status != 200:
        detail = data.get("detail") if isinstance(data, dict) else None
        raise EnrolError(f"the controller refused the code ({status}): {detail or raw[:200]!r}")
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or "node.json" not in files:
        raise EnrolError("the controller's answer is not a bundle (no node.json)")
    unknown = set(files) - set(FILES)
    if unknown or not all(isinstance(v, str) for v in files.values()):
        raise EnrolError(f"the controller's answer is not a bundle (files {sorted(files)})")
    return {str(k): str(v) for k, v in files.items()}


def install(
    files: dict[str, str], directory: Path, *, owner: str | None, data_dir: Path
) -> Enrolled:
    """Write the bundle into ``directory``, the node's data in ``data_dir``; everything is
    checked before the first file is written."""
    try:
        config = NodeConfig.model_validate_json(files["node.json"])
    except ValidationError as exc:
        raise EnrolError(f"the bundle's node.json is invalid: {exc}") from None
    config = config.model_copy(update={"data_dir": data_dir})
    ids = _account(owner)
    contents = {**files, "node.json": config.model_dump_json(indent=2)}
    for folder in (directory, data_dir):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if ids:
            os.chown(folder, *ids)
    written = [_write(directory / name, text, ids) for name, text in contents.items()]
    return Enrolled(config.node_id, written, owner if ids else None)


def _account(owner: str | None) -> tuple[int, int] | None:
    """(uid, gid) to give the files to: only root can give files away."""
    if not owner:
        return None
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise EnrolError(f"no account {owner!r} on this machine (install.sh creates it)") from None
    if os.geteuid() != 0:
        if entry.pw_uid != os.geteuid():
            raise EnrolError(f"only root can give the files to {owner!r}: run with sudo")
        return None
    return entry.pw_uid, entry.pw_gid


def _write(path: Path, text: str, ids: tuple[int, int] | None) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    if ids:
        os.fchown(fd, *ids)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)
    return path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser("enrol", help="fetch this Pi's bundle with a one-time code (HTTPS)")
    e.add_argument("url", help="the controller's address, https://...")
    e.add_argument("code", help="the one-time enrolment code")
    e.add_argument(
        "--fingerprint", required=True, help="the controller certificate's SHA-256 (label)"
    )
    e.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where node.json goes")
    e.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the agent's data")
    e.add_argument("--owner", default=None, help="service account to own the files (as root)")


def run(args: argparse.Namespace) -> int:
    pin = parse_fingerprint(args.fingerprint)
    _account(args.owner)  # an unknown account is refused before the code is spent
    files = fetch(args.url, args.code, pin)
    done = install(files, args.dir, owner=args.owner, data_dir=args.data_dir)
    print(f"enrolled as {done.node_id}; wrote {', '.join(str(p) for p in done.written)}")
    print(f"start the agent: loa node --config {args.dir / 'node.json'}")
    return 0
