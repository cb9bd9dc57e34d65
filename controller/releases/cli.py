"""`loa release add|rollout|status`: releases from the server's terminal.

Run on the controller's machine with its data directory, as ``loa node add`` is; a rollout is
made in the name of an admin account (``--user``), checked and audited like any command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from controller.errors import DomainError


def add_parser(sub: Any, default_data: Path) -> None:
    r = sub.add_parser("release", help="software updates of the points")
    rsub = r.add_subparsers(dest="release_cmd", required=True)
    a = rsub.add_parser("add", help="store and sign a loalang wheel")
    a.add_argument("wheel", type=Path)
    a.add_argument("--data", type=Path, default=default_data)
    a.add_argument("--user", required=True, help="the admin account that adds it (audit)")
    o = rsub.add_parser("rollout", help="set the version points should run")
    o.add_argument("version")
    o.add_argument("--data", type=Path, default=default_data)
    o.add_argument("--user", required=True, help="the admin account that orders it")
    o.add_argument("--all", action="store_true", help="every point")
    o.add_argument("--zone", action="append", default=[], help="zone code (repeat)")
    o.add_argument("--node", action="append", default=[], help="node id (repeat)")
    st = rsub.add_parser("status", help="each target version's progress")
    st.add_argument("--data", type=Path, default=default_data)


def run(args: argparse.Namespace) -> int:
    from controller.db import Database
    from controller.nodes import bootstrap
    from controller.nodes.keys import load_or_create_key

    config = bootstrap.load_config(args.data)
    db = Database(config.db_url)
    try:
        if args.release_cmd == "status":
            return _status(db)
        key = load_or_create_key(config.key_file)
        with db.session() as s:
            user = _admin(s, args.user)
            if args.release_cmd == "add":
                from controller.releases.wheels import add_release

                release = add_release(s, key, config.release_dir, args.wheel, user.username)
                print(
                    f"release {release.version} added: {release.filename}, sha256 {release.sha256}"
                )
                return 0
            from controller.releases.rollout import start_rollout, target_nodes

            nodes = target_nodes(s, every=args.all, zones=args.zone, nodes=args.node)
            told = start_rollout(s, key, user, args.version, nodes)
        print(f"rollout of {args.version}: {len(told)} of {len(nodes)} points told to update")
        return 0
    except DomainError as exc:
        raise ValueError(exc.en) from None
    finally:
        db.engine.dispose()


def _admin(s: Any, username: str) -> Any:
    from sqlalchemy import select

    from controller.errors import ForbiddenError
    from controller.models import User

    user = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or user.role != "admin":
        raise ForbiddenError(
            "release.admin_only",
            f"{username!r} is not an active admin account",
            f"{username!r} không phải tài khoản quản trị đang hoạt động",
        )
    return user


def _status(db: Any) -> int:
    from controller.releases.rollout import progress

    with db.session() as s:
        rows = progress(s)
    if not rows:
        print("no rollout yet")
    for p in rows:
        print(
            f"{p.version}: {p.on_target}/{p.total} on it, {p.pending} pending, "
            f"{p.failed} failed or rolled back"
        )
    return 0
