"""What an emergency's reports cost the controller: every point's five events applied as the
dispatcher applies them, in batches of its inbox bound, without the broker.

    python -m bench.event_intake --points 1000

A fresh SQLite file (``bench.command_path``'s commune, every point online), one emergency queued
to every point, then per point what a point reports for it: its ack, ``received``, ``ready``,
``started`` and ``finished``, in the order a round brings them (every point's first three,
then every point's last two), applied by ``intake.apply_reports`` in batches of ``BATCH_MAX``.
CPU seconds of this process, for all the batches; what it leaves out: parsing the MQTT
messages, paho, and sending the acknowledgements.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.command_path import commune_with
from controller.delivery import outbox
from controller.delivery.dispatcher import BATCH_MAX
from controller.delivery.intake import Report, apply_reports
from controller.models import Bulletin, Delivery, OutboxCommand
from protocol.messages import CommandAck, PlayEvent
from protocol.signing import new_private_key


def measure(points: int) -> tuple[float, int]:
    """CPU seconds to apply the round's reports; how many were applied."""
    with tempfile.TemporaryDirectory() as tmp:
        db = commune_with(points, Path(tmp))
        ids = [f"loa-{k:05d}" for k in range(points)]
        with db.session() as s:
            bulletin = s.get_one(Bulletin, "b1")
            outbox.queue_play(s, new_private_key(), bulletin, ids, play_id="p1", play_at=None)
        with db.session() as s:
            rows = s.execute(select(OutboxCommand.node_id, OutboxCommand.command_id))
            command_of = {node: command for node, command in rows}
        first: list[Report] = []
        last: list[Report] = []
        for node in ids:
            first.append(
                Report(node, CommandAck(node_id=node, command_id=command_of[node], accepted=True))
            )
            first += [
                Report(node, PlayEvent(type=k, node_id=node, play_id="p1"))
                for k in (
                    "received",
                    "ready",
                )
            ]
            last += [
                Report(node, PlayEvent(type=k, node_id=node, play_id="p1"))
                for k in (
                    "started",
                    "finished",
                )
            ]
        reports = first + last
        t0 = time.process_time()
        for i in range(0, len(reports), BATCH_MAX):
            apply_reports(db, reports[i : i + BATCH_MAX])
        spent = time.process_time() - t0
        with db.session() as s:
            done = s.scalars(select(Delivery.status)).all()
            assert done == ["finished"] * points, set(done)
        db.engine.dispose()
    return spent, len(reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="1000", help="comma-separated sizes")
    args = parser.parse_args()
    print("| points | reports | CPU | per report |")
    print("|---:|---:|---:|---:|")
    for points in (int(p) for p in args.points.split(",")):
        spent, n = measure(points)
        print(f"| {points:,} | {n:,} | {spent:.2f} s | {spent / n * 1000:.3f} ms |")


if __name__ == "__main__":
    main()
