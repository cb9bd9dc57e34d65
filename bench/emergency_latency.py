"""Emergency latency and start-time agreement on many simulated nodes (real processes).

    .venv/bin/python -m bench.emergency_latency --nodes 50 --rounds 5

Starts Mosquitto, the controller and N node agents (WAV sinks) on this machine, then
1. sends an emergency (text, spoken offline by espeak-ng and then cached, as every repeat of a
   standard warning is) to all nodes ``rounds`` times and measures, per node,
   the time from the API call to the node's ``started`` event (the attention signal going on
   air, by the node's clock) — p50, p99, max;
2. schedules one bulletin at an absolute time and measures the spread of the nodes' actual
   start times (from what their sinks recorded).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from tests.support import make_system, wait_for

ALERT_TEXT = "Cảnh báo khẩn cấp: lũ trên sông đang lên nhanh, bà con vùng trũng sơ tán ngay."


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def speech(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(path), text], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    sut = make_system(root / "sys", nodes=args.nodes)
    clip = speech(root / "canh-bao.wav", "Cảnh báo lũ khẩn cấp")
    t0 = time.monotonic()
    sut.cluster.start_all()
    online = wait_for(
        lambda: (
            sum(n["status"] == "online" for n in sut.http().get("/api/v1/nodes").json())
            == args.nodes
        ),
        300,
        "all nodes online",
    )
    print(f"{args.nodes} nodes online in {time.monotonic() - t0:.1f} s ({online})")
    latencies: list[float] = []
    spreads: list[float] = []
    try:
        with sut.http() as c:  # the text is spoken once; later alerts use the TTS cache
            t = time.monotonic()
            warm = c.post("/api/v1/alerts", data={"text": ALERT_TEXT, "nodes": sut.node_ids[0]})
            warm.raise_for_status()
            print(f"first (uncached) offline TTS alert accepted in {time.monotonic() - t:.2f} s")
            c.post(f"/api/v1/alerts/{warm.json()['id']}/cancel").raise_for_status()
        wait_for(
            lambda: all(n["status"] == "online" for n in sut.http().get("/api/v1/nodes").json()),
            60,
            "quiet nodes before measuring",
        )
        for round_no in range(args.rounds):
            with sut.http() as c:
                sent = datetime.now().astimezone()
                resp = c.post("/api/v1/alerts", data={"text": ALERT_TEXT, "all": "true"})
                resp.raise_for_status()
                alert = resp.json()

            def all_started(alert_id: str = alert["id"]) -> list[dict[str, object]] | None:
                with sut.http() as c:
                    nodes = c.get(f"/api/v1/alerts/{alert_id}").json()["report"]["nodes"]
                return nodes if all(n["started_at"] for n in nodes) else None

            nodes = wait_for(all_started, 120, f"round {round_no}: all nodes started")
            starts = [datetime.fromisoformat(str(n["started_at"])) for n in nodes]
            latencies += [(s - sent).total_seconds() for s in starts]
            spreads.append((max(starts) - min(starts)).total_seconds())

            def finished(alert_id: str = alert["id"]) -> bool:
                with sut.http() as c:
                    summary = c.get(f"/api/v1/alerts/{alert_id}").json()["report"]["summary"]
                return bool(summary["completed"] == args.nodes)

            wait_for(
                finished,
                120,
                "the alert to finish",
            )
        play_at = datetime.now().astimezone() + timedelta(seconds=20)
        bulletin = sut.post_bulletin(clip, all="true", play_at=play_at.isoformat()).json()
        wait_for(
            lambda: sut.report(bulletin["id"])["summary"]["completed"] == args.nodes,
            120,
            "the scheduled bulletin",
        )
        recorded = [
            json.loads((sut.played_dir(n) / f"{bulletin['id']}.json").read_text())["started_at"]
            for n in sut.node_ids
        ]
        offsets_ms = [(t - play_at.timestamp()) * 1000 for t in recorded]
    finally:
        sut.cluster.stop_all()
    print()
    print(f"| measure ({args.nodes} nodes, {args.rounds} rounds) | value |")
    print("|---|---|")
    print(f"| emergency API call → node `started`, p50 | {percentile(latencies, 50):.3f} s |")
    print(f"| emergency API call → node `started`, p99 | {percentile(latencies, 99):.3f} s |")
    print(f"| emergency API call → node `started`, max | {max(latencies):.3f} s |")
    print(
        f"| emergency start spread across nodes, median of rounds | "
        f"{statistics.median(spreads) * 1000:.0f} ms |"
    )
    print(
        f"| scheduled item: start − play_at, min / max | "
        f"{min(offsets_ms):.1f} / {max(offsets_ms):.1f} ms |"
    )
    print(f"| scheduled item: spread across nodes | {max(offsets_ms) - min(offsets_ms):.1f} ms |")


if __name__ == "__main__":
    main()
