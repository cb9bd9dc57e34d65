"""What an emergency's reports cost the controller: every point's five events applied as the
dispatcher applies them, in batches of its inbox bound, without the broker.

    python -m bench.event_intake --points 1000

A fresh SQLite file (``bench.command_path``'s commune, every point online), one emergency queued
to every point, then per point what a point reports for it: its ack, ``received``, ``ready``,
``started`` and ``finished``, in the order a round brings them (every point's first three,
then every point's last two), applied by ``intake.apply_reports`` in batches of ``BATCH_MAX``.
CPU seconds of this process, for all the batches; what it leaves out: parsing the MQTT
messages, paho, and sending the acknowledgements.

``--wire`` also takes the same round as MQTT messages through ``Dispatcher.handle_batch`` (the
worker's whole path: rate limit, parsing, the transaction, the acknowledgements handed to an
in-memory publisher; paho left out), in both forms a point can send, on two fresh files one
after the other: one message per event (five per point), and as a point that batches sends
them (protocol/event_batch.py): the ack, ``received`` and ``ready`` of one commit in one
message, then ``started`` and ``finished``, each alone (three per point).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.command_path import commune_with
from controller.config import ControllerConfig
from controller.delivery import outbox
from controller.delivery.dispatcher import BATCH_MAX, Dispatcher
from controller.delivery.intake import Report, apply_reports
from controller.delivery.publisher import MemoryPublisher
from controller.models import Bulletin, Delivery, OutboxCommand
from protocol import event_batch
from protocol.messages import CommandAck, PlayEvent
from protocol.mqtt_client import Incoming
from protocol.signing import new_private_key
from protocol.topics import node_topic


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


def measure_wire(points: int, *, batches: bool) -> tuple[float, int, int]:
    """CPU seconds for the dispatcher to take the round as messages; messages in, acks out."""
    with tempfile.TemporaryDirectory() as tmp:
        db = commune_with(points, Path(tmp))
        ids = [f"loa-{k:05d}" for k in range(points)]
        key = new_private_key()
        with db.session() as s:
            bulletin = s.get_one(Bulletin, "b1")
            outbox.queue_play(s, key, bulletin, ids, play_id="p1", play_at=None)
        with db.session() as s:
            rows = s.execute(select(OutboxCommand.node_id, OutboxCommand.command_id))
            command_of = {node: command for node, command in rows}
        publisher = MemoryPublisher()
        config = ControllerConfig(data_dir=Path(tmp), node_message_burst=10**6)
        dispatcher = Dispatcher(config, db, key, publisher=publisher)
        first: list[Incoming] = []
        last: list[Incoming] = []
        for node in ids:
            made = [
                CommandAck(node_id=node, command_id=command_of[node], accepted=True),
                *(PlayEvent(type=k, node_id=node, play_id="p1") for k in ("received", "ready")),
            ]
            payloads = [e.model_dump_json().encode() for e in made]
            topic = node_topic(node, "events")
            sent = event_batch.pack(payloads) if batches else payloads
            first += [Incoming(topic, p, False, 0.0) for p in sent]
            last += [
                Incoming(
                    topic,
                    PlayEvent(type=k, node_id=node, play_id="p1").model_dump_json().encode(),
                    False,
                    0.0,
                )
                for k in ("started", "finished")
            ]
        messages = first + last
        t0 = time.process_time()
        for i in range(0, len(messages), BATCH_MAX):
            dispatcher.handle_batch(messages[i : i + BATCH_MAX])
        spent = time.process_time() - t0
        with db.session() as s:
            done = s.scalars(select(Delivery.status)).all()
            assert done == ["finished"] * points, set(done)
        db.engine.dispose()
    return spent, len(messages), len(publisher.sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="1000", help="comma-separated sizes")
    parser.add_argument("--wire", action="store_true", help="also as messages, both forms")
    args = parser.parse_args()
    sizes = [int(p) for p in args.points.split(",")]
    print("| points | reports | CPU | per report |")
    print("|---:|---:|---:|---:|")
    for points in sizes:
        spent, n = measure(points)
        print(f"| {points:,} | {n:,} | {spent:.2f} s | {spent / n * 1000:.3f} ms |")
    if not args.wire:
        return
    print()
    print("| points | form | messages in | acks out | CPU | per point |")
    print("|---:|---|---:|---:|---:|---:|")
    for points in sizes:
        for batches in (False, True):
            spent, n, out = measure_wire(points, batches=batches)
            form = "batches" if batches else "one per event"
            print(
                f"| {points:,} | {form} | {n:,} | {out:,} | {spent:.2f} s "
                f"| {spent / points * 1000:.2f} ms |"
            )


if __name__ == "__main__":
    main()
