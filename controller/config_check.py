"""Checks of a loaded controller configuration that the schema alone cannot make, and the
effective configuration as `loa config check` prints it, with every secret masked.

The schema (:class:`controller.config.ControllerConfig`) already refuses a wrong type or range,
one line per value. What is left needs the values together or the disk: a TLS port without
its certificates, the broker password `loa init` should have made, a database URL that does not
parse. The controller runs these at start-up and refuses to start with one line per problem.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from controller.config import ControllerConfig
from controller.nodes import broker_tls

MASK = "********"
# A value is a secret when its key says so; paths to files that hold secrets are not.
SECRET_KEY = re.compile(r"(password|secret|token|(^|_)key)$", re.IGNORECASE)
DATABASES = ("sqlite", "postgresql")


def _where(name: str) -> str:
    return f"{name} (controller.json or LOA_{name.upper()})"


def problems(config: ControllerConfig) -> list[str]:
    """Every reason ``config`` cannot run, one line each; empty when it can."""
    found: list[str] = []
    if not config.data_dir.is_dir():
        found.append(f"{_where('data_dir')}: {config.data_dir} is not a directory (run `loa init`)")
    if not config.mqtt_password:
        found.append(
            f"{_where('mqtt_password')}: missing; `loa init` generates the controller's broker "
            "password (there is no default)"
        )
    found += _database_problems(config.database_url)
    for role, path in zip(("certificate", "key"), config.http_tls_files or (), strict=False):
        if not os.access(path, os.R_OK):
            found.append(f"{_where('http_tls_files')}: the {role} file {path} cannot be read")
    found += _tls_problems(config)
    for feed in config.cap_feeds:
        parts = urlsplit(feed)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            found.append(f"{_where('cap_feeds')}: {feed!r} is not an http(s) URL")
    return found


def _database_problems(url: str | None) -> list[str]:
    if url is None:
        return []
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return [f"{_where('database_url')}: not a database URL (got {mask_url(url)!r})"]
    if backend not in DATABASES:
        return [
            f"{_where('database_url')}: {backend!r} is not supported (use {' or '.join(DATABASES)})"
        ]
    return []


def _tls_problems(config: ControllerConfig) -> list[str]:
    if config.mqtt_tls_port is None:
        unused = [n for n in ("mqtt_tls_hosts", "mqtt_tls_client_certs") if getattr(config, n)]
        return [
            f"{_where(name)}: set without mqtt_tls_port, so no TLS listener would use it "
            "(run `loa tls init`)"
            for name in unused
        ]
    found: list[str] = []
    if config.mqtt_tls_port == config.mqtt_port:
        found.append(f"{_where('mqtt_tls_port')}: {config.mqtt_tls_port} is also mqtt_port")
    if config.mqtt_tls_files:
        for role, path in zip(("CA", "certificate", "key"), config.mqtt_tls_files, strict=True):
            if not os.access(path, os.R_OK):
                found.append(f"{_where('mqtt_tls_files')}: the {role} file {path} cannot be read")
        return found
    if not config.mqtt_tls_hosts:
        found.append(
            f"{_where('mqtt_tls_hosts')}: missing; the broker's certificate needs the names "
            "the nodes use (`loa tls init --host NAME`)"
        )
    files = broker_tls.default_files(config.broker_tls_dir)
    missing = [p for p in (files.ca_file, files.cert_file, files.key_file) if not p.exists()]
    if missing:
        found.append(
            f"{_where('mqtt_tls_port')}: the broker's TLS files are missing "
            f"({', '.join(str(p) for p in missing)}): run `loa tls init`"
        )
    if config.mqtt_tls_client_certs and not broker_tls.ca_key_file(config.broker_tls_dir).exists():
        found.append(
            f"{_where('mqtt_tls_client_certs')}: the commune CA's key, which signs the nodes' "
            "certificates, is missing: run `loa tls init --client-certs --replace`"
        )
    return found


def require(config: ControllerConfig) -> None:
    """Start-up: exit with one line per problem, all of them, if ``config`` cannot run."""
    found = problems(config)
    if found:
        raise SystemExit("invalid controller configuration:\n  " + "\n  ".join(found))


def mask_url(url: str) -> str:
    """``url`` with the password of its user part masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return parts._replace(netloc=netloc).geturl()


def masked(value: Any, key: str = "") -> Any:
    """``value`` (a dumped configuration) with every secret replaced by a mask; an empty secret
    shows as empty, so a missing one stays visible."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    if isinstance(value, str) and value:
        if SECRET_KEY.search(key):
            return MASK
        if "://" in value:
            return mask_url(value)
    return value


def effective(config: ControllerConfig) -> str:
    """The configuration the controller would run with, as JSON, secrets masked."""
    return json.dumps(masked(config.model_dump(mode="json")), indent=2, ensure_ascii=False)


def check(data_dir: Path) -> int:
    """`loa config check`: print the effective configuration; exit 1 with the problems."""
    from controller.nodes import bootstrap

    try:
        config = bootstrap.load_config(data_dir)
    except SystemExit as exc:  # the schema's own lines, every bad value at once
        print(exc, file=sys.stderr)
        return 1
    print(effective(config))
    found = problems(config)
    if found:
        print("invalid controller configuration:\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    print("configuration OK", file=sys.stderr)
    return 0
