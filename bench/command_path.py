"""What an emergency to N points costs the controller itself, before the broker: signing and
storing N play commands with their deliveries (``outbox.queue_play``), the commit, and one
sending pass (``outbox.send_due``) into an in-memory publisher: one publish per shard of the
points, each signed once for that shard's targets.

    python -m bench.command_path --points 1000,5000,10000

A fresh SQLite file per size (WAL, as the controller runs it); every point online. What it
leaves out: the HTTP request, the text-to-speech, paho's own work and the broker; ``bench.scale``
measures the whole path with a real broker and light points.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from controller.db import Database, migrate
from controller.delivery import outbox
from controller.delivery.publisher import MemoryPublisher
from controller.models import AudioFile, Bulletin, Commune, Node, User, Zone, now
from controller.nodes.bootstrap import add_zone
from protocol.signing import new_private_key
from protocol.topics import group_shard


def commune_with(points: int, root: Path) -> Database:
    db = Database(f"sqlite:///{root / 'c.sqlite3'}")
    migrate(db.engine)
    with db.session() as s:
        s.add(Commune(name="bench"))
    add_zone(db, "all", "All")
    with db.session() as s:
        zone = s.scalars(select(Zone)).one()
        author = User(username="bench", password_hash="x", role="broadcaster")
        s.add(author)
        s.add(AudioFile(sha256="a" * 64, size=728_000, duration_s=180.0, mime="audio/ogg"))
        s.add_all(
            Node(
                id=f"loa-{k:05d}",
                name=f"Loa {k}",
                zone_id=zone.id,
                status="online",
                group_commands=True,  # as every agent of this version says it reads its shard
            )
            for k in range(points)
        )
        s.flush()
        s.add(
            Bulletin(
                id="b1",
                title="Khẩn cấp",
                audio_sha256="a" * 64,
                priority="emergency",
                valid_until=now() + timedelta(hours=1),
                created_by=author.id,
            )
        )
    return db


def measure(points: int) -> tuple[float, float, float, int]:
    """Seconds to sign and store, to commit, and to send ``points`` commands; the publishes
    (one per shard of the points: ``controller/delivery/groups.py``)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = commune_with(points, Path(tmp))
        key, publisher = new_private_key(), MemoryPublisher()
        ids = [f"loa-{k:05d}" for k in range(points)]
        t0 = time.perf_counter()
        with db.session() as s:
            bulletin = s.get_one(Bulletin, "b1")
            outbox.queue_play(s, key, bulletin, ids, play_id="p1", play_at=None)
            t1 = time.perf_counter()
        t2 = time.perf_counter()
        outbox.send_due(db, publisher, 10.0)
        t3 = time.perf_counter()
        assert len(publisher.sent) == len({group_shard(n) for n in ids})
        db.engine.dispose()
    return t1 - t0, t2 - t1, t3 - t2, len(publisher.sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="1000,5000,10000", help="comma-separated sizes")
    args = parser.parse_args()
    print("| points | sign + store | commit | send pass | publishes | total | per point |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for points in (int(p) for p in args.points.split(",")):
        sign, commit, send, publishes = measure(points)
        total = sign + commit + send
        print(
            f"| {points:,} | {sign:.2f} s | {commit:.3f} s | {send:.2f} s | {publishes} "
            f"| {total:.2f} s | {total / points * 1000:.2f} ms |"
        )


if __name__ == "__main__":
    main()
