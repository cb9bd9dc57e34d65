"""`loa poster`: a village's or a point's QR poster as a PNG or PDF file.

Imported by ``controller.cli`` on every machine, a Pi's too: Pillow, segno and the database
are imported only when a poster is made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path("var")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("poster", help="a printable QR poster to a village's listen-again page")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--zone", help="the village's code: a poster for its notice board")
    which.add_argument("--node", help="a point's id: the village's poster naming the point")
    p.add_argument("--size", choices=("a4", "a5"), default="a4")
    p.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.png")


def run(args: argparse.Namespace) -> int:
    from controller.db import Database
    from controller.errors import DomainError
    from controller.nodes import bootstrap
    from controller.public import posters

    fmt = args.out.suffix.lower().lstrip(".")
    if fmt not in posters.FORMATS:
        print(f"loa poster: --out must end in .pdf or .png, not {args.out.name!r}", file=sys.stderr)
        return 2
    config = bootstrap.load_config(args.data)
    db = Database(config.db_url)
    try:
        with db.session() as s:
            facts = (
                posters.zone_facts(s, config, args.zone)
                if args.zone is not None
                else posters.node_facts(s, config, args.node)
            )
        data = posters.draw(facts, args.size).encoded(fmt)
    except DomainError as exc:
        print(f"loa poster: {exc.en}", file=sys.stderr)
        return 2
    finally:
        db.engine.dispose()
    args.out.write_bytes(data)
    print(f"poster for {facts.zone_name} ({args.size.upper()}, {fmt.upper()}): {args.out}")
    print(f"its QR code opens {facts.url}")
    return 0
