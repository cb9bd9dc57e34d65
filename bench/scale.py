"""The controller and one Mosquitto measured with 50 to 1,000 loudspeaker points.

    python -m bench.scale --points 50,100,400,1000

For each size: a fresh data directory, the points provisioned as real ones are (each its own
broker account and ACL), the project's Mosquitto config, a real controller process, and the
points as light nodes (``bench/light_node.py``: the node's protocol code without its player,
``--per-process`` points per process). Then
1. ``--rounds`` text emergencies to every point (spoken once by espeak-ng before measuring, then
   from the TTS cache): API call → the signed command at each point, and → each point's
   ``started``; and when the controller's report has every point started;
2. one 3-minute Opus bulletin to every point, played at once: API call → each point's ``ready``
   (its audio downloaded and verified), and when the controller's report has every point done;
3. the controller's peak RSS (VmHWM) and the messages Mosquitto logged as dropped;
4. the messages the broker took in and sent out per point, per emergency (the rounds' mean)
   and for the bulletin, from its ``$SYS`` counters (read at each phase's end, after the
   broker's next ``sys_interval`` update);
5. the CPU each process spent per emergency, and on the bulletin from its upload until every
   point had it ready.
Besides, a real ``loa node`` process (WAV sink, as in the demo) is measured idle. The broker
runs at the priority its systemd unit gives it on the server (``bench/server_priority.py``;
``--broker-default-priority`` leaves it as started), since the simulated points share its cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import server_priority
from bench.emergency_latency import ALERT_TEXT, percentile
from bench.light_nodes import LightNodes, cpu_s, proc_kb
from controller.nodes import broker
from controller.ops import demo
from controller.ops.cluster import Cluster
from tests.support import wait_for

DROPPED = "Outgoing messages are being dropped"
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"
RECEIVED_TOPIC = "$SYS/broker/publish/messages/received"
SENT_TOPIC = "$SYS/broker/publish/messages/sent"
SYS_FILTER = "$SYS/broker/publish/messages/+"
SYS_READER = "bench-sys"
KB = 1024
PROCESSES = ("controller", "broker", "points")


@dataclass
class SizeResult:
    points: int
    command_at_node: list[float]  # seconds after the API call, per point and round
    started: list[float]
    controller_all_started: list[float]  # per round
    ready: list[float]
    bulletin_accepted: float  # the upload's API call, processing included
    controller_all_done: float
    controller_peak_kb: int
    harness_kb: int
    dropped: int
    drop_episodes: int
    cpu_per_round: dict[str, float]  # process -> CPU seconds per emergency round (mean)
    cpu_bulletin: dict[str, float]  # process -> CPU seconds from the upload to every point ready
    # (PUBLISHes the broker received, sent) per point: per emergency (mean) and the bulletin
    messages_per_round: tuple[float, float] = (0.0, 0.0)
    messages_bulletin: tuple[float, float] = (0.0, 0.0)


def pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise KeyError("Pss")


def drop_episodes(cluster: Cluster) -> int:
    """Mosquitto logs a client's drops once, when its queue starts overflowing."""
    log = broker.BrokerFiles(cluster.config.broker_dir).log_file
    return sum(DROPPED in line for line in log.read_text(errors="replace").splitlines())


def add_sys_reader(cluster: Cluster) -> tuple[str, str]:
    """A broker account that may read the broker's drop counter, and nothing else."""
    files = broker.BrokerFiles(cluster.config.broker_dir)
    password = broker.new_password()
    broker.set_password(files, SYS_READER, password)
    with files.acl_file.open("a") as fh:
        fh.write(f"\nuser {SYS_READER}\ntopic read {SYS_FILTER}\n")
    return SYS_READER, password


class DropCounter:
    """Mosquitto's count of dropped messages, read from $SYS for the whole run. The broker
    publishes it (retained, expiring after 60 s) only when it changes, at most every 10 s
    (``sys_interval``): a reader that joined late would see nothing while nothing was dropped,
    so this one listens from the broker's start and keeps the last value."""

    def __init__(self, cluster: Cluster, account: tuple[str, str]) -> None:
        from tests.support.mqtt import Recorder

        self._seen = Recorder(cluster.config.mqtt_port, *account, subscribe=SYS_FILTER)

    def total(self, topic: str = DROPPED_TOPIC) -> int:
        time.sleep(11)  # the broker's next update, if the count moved
        values = wait_for(lambda: self._seen.on(topic), 15, f"the broker's {topic}")
        return int(values[-1])

    def messages(self) -> tuple[int, int]:
        """PUBLISHes the broker has received and sent since it started."""
        received = self.total(RECEIVED_TOPIC)
        return received, int(self._seen.on(SENT_TOPIC)[-1])

    def close(self) -> None:
        self._seen.close()


def three_minute_opus(path: Path) -> Path:
    """Three minutes of generated Vietnamese speech, as a phone would send it (Opus)."""
    from tests.support.audio import bulletin, ffmpeg, write_wav

    wav = path.with_suffix(".wav")
    write_wav(str(wav), bulletin(180.0), 16000)
    ffmpeg("-i", str(wav), "-c:a", "libopus", "-b:a", "32k", str(path))
    return path


def start_system(
    root: Path, points: int, *, broker_as_deployed: bool = True
) -> tuple[Cluster, httpx.Client, DropCounter]:
    """A fresh system of ``points`` provisioned points, its broker (at its unit's priority
    unless ``broker_as_deployed`` is false) and controller running; an API client, and the
    broker's drop counter."""
    cluster = demo.prepare(
        root, nodes=points, http_port=broker.free_port(), mqtt_port=broker.free_port()
    )
    token = demo.credentials(cluster.config)["api_token"]
    account = add_sys_reader(cluster)
    server_priority.start_broker(cluster, deployed_priority=broker_as_deployed)
    drops = DropCounter(cluster, account)
    cluster.start_controller()
    client = httpx.Client(
        base_url=cluster.url, headers={"Authorization": f"Bearer {token}"}, timeout=300
    )
    return cluster, client, drops


def all_online(api: httpx.Client, points: int) -> bool:
    nodes = api.get("/api/v1/nodes").json()
    return len(nodes) == points and all(n["status"] == "online" for n in nodes)


def report_poll_s(points: int) -> float:
    """How often the bench reads a report. Each read builds the whole report, every point's row:
    at 5,000 points, read every 0.2 s, that took a quarter of the controller's busy time while it
    was taking the points' events (py-spy, BENCHMARKS.md "5,000 points"), which no official's
    page does. Up to 1,000 points the figures keep their 0.2 s resolution."""
    return 0.2 if points <= 1000 else points / 2000


def summary_reaches(api: httpx.Client, path: str, key: str, points: int) -> Callable[[], bool]:
    def check() -> bool:
        body = api.get(path).json()
        report = body.get("report", body)
        return bool(report["summary"][key] >= points)

    return check


@dataclass
class Round:
    sent: float  # the API call (epoch seconds); the rest is seconds after it
    response: float
    command_at_node: list[float]
    started: list[float]
    controller_all_started: float


def emergency_round(
    api: httpx.Client,
    nodes: LightNodes,
    points: int,
    *,
    on_all_started: Callable[[], None] = lambda: None,
    on_points_started: Callable[[], None] = lambda: None,
) -> Round:
    """One text emergency to every point, followed until the controller has it done;
    ``on_points_started`` is called once every point has said it started (before the report
    is polled), ``on_all_started`` once the report shows every point started."""
    sent = time.time()
    resp = api.post("/api/v1/alerts", data={"text": ALERT_TEXT, "all": "true"})
    response = time.time() - sent
    resp.raise_for_status()
    alert = resp.json()
    play_id = alert["report"]["nodes"][0]["play_id"]
    wait_for(nodes.counter("started", play_id, points), 600, "every point started")
    on_points_started()
    path = f"/api/v1/alerts/{alert['id']}"
    poll = report_poll_s(points)
    wait_for(
        summary_reaches(api, path, "played", points), 600, "the report: all started", interval=poll
    )
    all_started = time.time() - sent
    on_all_started()
    wait_for(summary_reaches(api, path, "completed", points), 600, "the alert done", interval=poll)
    return Round(
        sent,
        response,
        [at - sent for at in nodes.times("command", play_id).values()],
        [at - sent for at in nodes.times("started", play_id).values()],
        all_started,
    )


def measure_size(
    root: Path,
    shm: Path,
    points: int,
    *,
    rounds: int,
    per_process: int,
    opus: Path,
    niceness: int = 0,
    broker_as_deployed: bool = True,
) -> SizeResult:
    t = time.monotonic()
    cluster, api, drops = start_system(root, points, broker_as_deployed=broker_as_deployed)
    print(f"[{points}] provisioned and started in {time.monotonic() - t:.0f} s", flush=True)
    nodes = LightNodes(cluster.node_configs, shm, per_process, cluster.logs_dir, niceness=niceness)
    try:
        nodes.wait_online(points, timeout=120 + points * 0.2)
        wait_for(lambda: all_online(api, points), 120, "every point online at the controller")
        print(f"[{points}] all online after {time.monotonic() - t:.0f} s", flush=True)
        first = sorted(cluster.node_configs)[0]
        warm = api.post("/api/v1/alerts", data={"text": ALERT_TEXT, "nodes": first})
        warm.raise_for_status()  # speaks the text once; the rounds use the TTS cache
        api.post(f"/api/v1/alerts/{warm.json()['id']}/cancel").raise_for_status()
        time.sleep(3)
        commands: list[float] = []
        started: list[float] = []
        all_started: list[float] = []
        assert cluster.controller is not None
        assert cluster.broker_proc is not None
        pids = {
            "controller": [cluster.controller.popen.pid],
            "broker": [cluster.broker_proc.pid],
            "points": [proc.pid for proc in nodes.procs],
        }
        spent = dict.fromkeys(pids, 0.0)
        at_start = drops.messages()
        for round_no in range(rounds):
            before = {name: sum(cpu_s(pid) for pid in ps) for name, ps in pids.items()}
            round_ = emergency_round(api, nodes, points)
            for name, ps in pids.items():  # from the API call until the alert is done
                spent[name] += sum(cpu_s(pid) for pid in ps) - before[name]
            commands += round_.command_at_node
            started += round_.started
            all_started.append(round_.controller_all_started)
            print(f"[{points}] round {round_no + 1}: p99 {p(started, 99)} s", flush=True)
        after_rounds = drops.messages()
        before = {name: sum(cpu_s(pid) for pid in ps) for name, ps in pids.items()}
        sent = time.time()
        with opus.open("rb") as fh:
            resp = api.post(
                "/api/v1/bulletins", files={"file": (opus.name, fh)}, data={"all": "true"}
            )
        resp.raise_for_status()
        accepted = time.time() - sent
        bulletin = resp.json()
        report = api.get(f"/api/v1/bulletins/{bulletin['id']}/report").json()
        play_id = report["nodes"][0]["play_id"]
        wait_for(nodes.counter("ready", play_id, points), 1200, "the bulletin ready")
        ready = [at - sent for at in nodes.times("ready", play_id).values()]
        cpu_bulletin = {n: sum(cpu_s(pid) for pid in ps) - before[n] for n, ps in pids.items()}
        path = f"/api/v1/bulletins/{bulletin['id']}/report"
        done = summary_reaches(api, path, "completed", points)
        wait_for(done, 600, "the bulletin done", interval=report_poll_s(points))
        all_done = time.time() - sent
        after_bulletin = drops.messages()
        return SizeResult(
            points=points,
            command_at_node=commands,
            started=started,
            controller_all_started=all_started,
            ready=ready,
            bulletin_accepted=accepted,
            controller_all_done=all_done,
            controller_peak_kb=proc_kb(cluster.controller.popen.pid, "VmHWM"),
            harness_kb=nodes.rss_kb(),
            dropped=drops.total(),
            drop_episodes=drop_episodes(cluster),
            cpu_per_round={name: total / rounds for name, total in spent.items()},
            cpu_bulletin=cpu_bulletin,
            messages_per_round=per_point(at_start, after_rounds, points * rounds),
            messages_bulletin=per_point(after_rounds, after_bulletin, points),
        )
    except AssertionError:  # a wait ran out: what the broker dropped says whether it was there
        print(f"[{points}] gave up; the broker has dropped {drops.total()} messages", flush=True)
        raise
    finally:
        nodes.close()
        api.close()
        drops.close()
        cluster.stop_all()


def per_point(before: tuple[int, int], after: tuple[int, int], n: int) -> tuple[float, float]:
    return ((after[0] - before[0]) / n, (after[1] - before[1]) / n)


def real_node_idle(root: Path, settle_s: float) -> tuple[int, int]:
    """RSS and PSS (kB) of one real `loa node` process (WAV sink), idle after connecting."""
    cluster, api, drops = start_system(root, 1)
    try:
        node_id = next(iter(cluster.node_configs))
        cluster.start_node(node_id)
        wait_for(lambda: all_online(api, 1), 60, "the real node online")
        time.sleep(settle_s)
        pid = cluster.nodes[node_id].popen.pid
        return proc_kb(pid, "VmRSS"), pss_kb(pid)
    finally:
        api.close()
        drops.close()
        cluster.stop_all()


def p(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.2f}"


def table(results: list[SizeResult], node_rss: tuple[int, int] | None) -> str:
    rows = [
        "| points | command at node p50 / p99 | emergency API → `started` p50 / p99 / max "
        "| report has all started | 3-min bulletin ready p50 / p99 / max (upload) "
        "| report has all done | controller peak RSS | broker dropped (episodes) | harness RSS "
        "| CPU s per emergency: controller / broker / points "
        "| CPU s for the bulletin, upload to all ready: controller / broker / points "
        "| broker messages in / out per point: per emergency, bulletin |",
        "|---:|---|---|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        cpu = " / ".join(f"{r.cpu_per_round[k]:.2f}" for k in PROCESSES)
        cpu_bulletin = " / ".join(f"{r.cpu_bulletin[k]:.1f}" for k in PROCESSES)
        rows.append(
            f"| {r.points:,} | {p(r.command_at_node, 50)} / {p(r.command_at_node, 99)} s "
            f"| {p(r.started, 50)} / {p(r.started, 99)} / {max(r.started):.2f} s "
            f"| {max(r.controller_all_started):.1f} s "
            f"| {p(r.ready, 50)} / {p(r.ready, 99)} / {max(r.ready):.1f} s "
            f"({r.bulletin_accepted:.1f} s) "
            f"| {r.controller_all_done:.1f} s | {r.controller_peak_kb // KB} MB "
            f"| {r.dropped:,} ({r.drop_episodes}) | {r.harness_kb // KB} MB | {cpu} "
            f"| {cpu_bulletin} "
            f"| {r.messages_per_round[0]:.1f} / {r.messages_per_round[1]:.1f}, "
            f"{r.messages_bulletin[0]:.1f} / {r.messages_bulletin[1]:.1f} |"
        )
    if node_rss:
        rows.append("")
        rows.append(
            f"One real node agent (`loa node`, WAV sink, as in the demo), idle: "
            f"{node_rss[0] // KB} MB RSS, {node_rss[1] // KB} MB PSS."
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="50,100,400,1000", help="comma-separated sizes")
    parser.add_argument("--rounds", type=int, default=3, help="emergencies per size")
    parser.add_argument("--per-process", type=int, default=50, help="light points per process")
    parser.add_argument("--no-node-rss", action="store_true", help="skip the real node's RSS")
    parser.add_argument(
        "--points-nice", type=int, default=0, help="niceness of the light points' processes"
    )
    server_priority.add_option(parser)
    args = parser.parse_args()
    sizes = [int(x) for x in args.points.split(",")]
    base = Path(tempfile.mkdtemp(prefix="loa-scale-"))
    shm_base = Path(tempfile.mkdtemp(prefix="loa-scale-", dir="/dev/shm"))
    print(f"data under {base}; light points' stores and caches under {shm_base}", flush=True)
    opus = three_minute_opus(base / "bulletin-3min.opus")
    node_rss = None if args.no_node_rss else real_node_idle(base / "real-node", 10.0)
    results = []
    for points in sizes:
        results.append(
            measure_size(
                base / f"p{points}",
                shm_base / f"p{points}",
                points,
                rounds=args.rounds,
                per_process=args.per_process,
                opus=opus,
                niceness=args.points_nice,
                broker_as_deployed=not args.broker_default_priority,
            )
        )
        print(table(results[-1:], None), flush=True)  # kept if a larger size fails
        shutil.rmtree(shm_base / f"p{points}", ignore_errors=True)  # memory, not disk
    shutil.rmtree(shm_base, ignore_errors=True)
    print()
    print(
        f"{os.cpu_count()} cores; {args.rounds} emergencies per size; {sys.version.split()[0]}; "
        f"points at nice {args.points_nice}; broker "
        + ("at its start's priority" if args.broker_default_priority else "as its unit sets")
    )
    print(table(results, node_rss))


if __name__ == "__main__":
    main()
