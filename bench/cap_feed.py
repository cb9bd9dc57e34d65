"""What CAP out costs a poller and the controller: the Atom feed and a document over HTTP.

    .venv/bin/python -m bench.cap_feed --alerts 10 50 200 --requests 200

Starts Mosquitto and a real controller process, stores ``alerts`` sent alerts to two villages
(every other one then cancelled, so it has a Cancel too), and polls the feed as a provincial
poller would: the full answer (200) and the conditional one with the ETag it got (304), and
one CAP document. Prints bytes on the wire and the time per request, p50 and p99, one client
at a time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from controller.db import Database
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher
from controller.nodes.keys import load_or_create_key
from tests.controller.alerting import cancel, send
from tests.controller.commune import Commune
from tests.support import make_system

TEXT = "Bão số 5 đổ bộ vào đất liền chiều nay, đề nghị bà con gia cố nhà cửa và vào nơi trú ẩn."


def timed(
    client: httpx.Client, path: str, requests: int, **headers: str
) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(requests):
        t0 = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        size = len(answer.content)
    return times, size


def row(label: str, times: list[float], size: int) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"| {label:<24} | {size:>7} | {statistics.median(times):>8.1f} | {p99:>8.1f} |"


def run(root: Path, alerts: int, requests: int) -> list[str]:
    sut = make_system(root, nodes=2)
    config = sut.cluster.config
    commune = Commune(config, Database(config.db_url), load_or_create_key(config.key_file))
    dispatcher = Dispatcher(config, commune.db, commune.key, publisher=MemoryPublisher())
    last = ""
    for k in range(alerts):
        last = send(commune, dispatcher, ["thon-dong", "thon-tay"], TEXT)
        if k % 2:
            cancel(commune, dispatcher, last, "")
    commune.db.engine.dispose()
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    try:
        with httpx.Client(base_url=sut.cluster.url, timeout=30) as client:
            feed = "/api/v1/cap/alerts.atom"
            etag = client.get(feed).headers["etag"]
            return [
                row(f"{alerts} alerts: feed, 200", *timed(client, feed, requests)),
                row(
                    f"{alerts} alerts: feed, 304",
                    *timed(client, feed, requests, **{"If-None-Match": etag}),
                ),
                row(
                    f"{alerts} alerts: a document",
                    *timed(client, f"/api/v1/cap/alerts/{last}.xml", requests),
                ),
            ]
    finally:
        sut.cluster.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loa-bench-cap-"))
    lines = [
        "| request                  |   bytes | p50 (ms) | p99 (ms) |",
        "|--------------------------|---------|----------|----------|",
    ]
    for n in args.alerts:
        lines += run(root / f"n{n}", n, args.requests)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
