"""`loa backup` and `loa restore`: arguments, and what they print."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path("var")


def add_parsers(sub: Any) -> None:
    b = sub.add_parser(
        "backup", help="copy the database, audio, keys, config and broker accounts (while running)"
    )
    b.add_argument("dir", type=Path, help="a new loalang-YYYYMMDD-HHMMSS folder is made here")
    b.add_argument("--data", type=Path, default=DEFAULT_DATA)
    r = sub.add_parser("restore", help="restore a backup into a new, empty data directory")
    r.add_argument("backup", type=Path, help="a folder made by `loa backup`")
    r.add_argument("--data", type=Path, required=True, help="new or empty data directory")
    r.add_argument("--database-url", help="for a PostgreSQL backup: a new, empty database")


def run(args: argparse.Namespace) -> int:
    if args.cmd == "backup":
        return _backup(args.data, args.dir)
    return _restore(args.backup, args.data, args.database_url)


def _backup(data: Path, dest: Path) -> int:
    from controller.backup.make import make_backup
    from controller.nodes import bootstrap

    made = make_backup(bootstrap.load_config(data), dest)
    manifest = made.manifest
    print(
        f"backup written: {made.path} ({len(manifest.files)} files, {made.size} bytes, "
        f"{manifest.database} schema {manifest.schema_revision})"
    )
    _print_skipped(manifest.skipped)
    return 0


def _restore(backup: Path, data: Path, database_url: str | None) -> int:
    from controller.backup.restore import restore

    done = restore(backup, data, database_url=database_url)
    manifest = done.manifest
    print(
        f"restored {backup} (made {manifest.created_at} by Loa Làng "
        f"{manifest.loalang_version}) into {done.data_dir}"
    )
    if done.schema_revision != manifest.schema_revision:
        print(f"database migrated from schema {manifest.schema_revision} to {done.schema_revision}")
    _print_skipped(manifest.skipped)
    print(
        f"start it with: loa broker --data {done.data_dir}; loa controller --data {done.data_dir}"
    )
    return 0


def _print_skipped(skipped: dict[str, str]) -> None:
    for name, why in sorted(skipped.items()):
        print(f"warning: not in the backup: {name}: {why}")
