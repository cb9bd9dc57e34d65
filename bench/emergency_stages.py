"""Where an emergency to every point spends its time: stage by stage, with each process's CPU.

    python -m bench.emergency_stages --points 400 --rounds 3 [--profile DIR]

A fresh system as in ``bench.scale`` (provisioned points, the project's Mosquitto over TLS, a
real controller, light nodes). Per text emergency to every point:
- API call → the response (the alert stored and committed: commands queued);
- → the signed command on the wire: an observer account subscribed to every point's command
  topic and every shard's group topic sees each one as the broker forwards it (controller +
  broker, without the points); a group command counts for each of its targets;
- → the command at each point's socket, and → each point's ``started`` (the harness's part);
- → the controller's report showing every point started;
- the CPU seconds the controller, Mosquitto and the light points' processes used in the round.
``--profile DIR`` also records the controller with py-spy (a measuring tool, installed by hand,
not a dependency) for the rounds: one flame graph per thread and the GIL's share.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import server_priority
from bench.emergency_latency import ALERT_TEXT, percentile
from bench.light_nodes import LightNodes, cpu_s
from bench.scale import all_online, emergency_round
from controller.nodes import broker
from controller.ops import demo
from controller.ops.cluster import Cluster
from protocol.messages import SignedEnvelope
from protocol.topics import parse_group_topic
from tests.support import wait_for

ROUND_SETTLE_S = 2.0
IDLE_S = 5.0


def network_threads_cpu_s(pids: list[int]) -> float:
    """CPU seconds of the paho network threads of ``pids`` (TLS, framing, keep-alives): every
    thread but the main one, which is the worker running the node's protocol code."""
    return sum(cpu_s(pid) - cpu_s(pid, str(pid)) for pid in pids)


class CommandWatcher:
    """First arrival time of each point's signed command, as the broker forwards it: on the
    point's own topic, or on its shard's group topic for all of the command's targets."""

    def __init__(self, port: int, user: str, password: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, *_a: c.subscribe(
            [("loa/v1/node/+/cmd", 0), ("loa/v1/group/+/cmd", 0)]
        )
        self.client.on_subscribe = lambda *_a: self._ready.set()
        self.client.on_message = self._got
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._ready.wait(10), "the command watcher did not subscribe"

    def _got(self, _c: object, _u: object, msg: object) -> None:
        at = time.time()
        topic: str = msg.topic  # type: ignore[attr-defined]
        if parse_group_topic(topic) is None:
            nodes = [topic.split("/")[3]]
        else:
            envelope = SignedEnvelope.model_validate_json(msg.payload)  # type: ignore[attr-defined]
            nodes = json.loads(base64.b64decode(envelope.body))["targets"]
        with self._lock:
            for node in nodes:
                self.seen.setdefault(node, at)

    def take(self) -> dict[str, float]:
        with self._lock:
            seen, self.seen = self.seen, {}
        return seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start(
    root: Path, points: int, *, broker_as_deployed: bool = True
) -> tuple[Cluster, httpx.Client, tuple[str, str]]:
    """A fresh system of ``points`` points, running (the broker at its unit's priority unless
    ``broker_as_deployed`` is false), with an observer account for the watcher."""
    from tests.support.mqtt import add_observer

    cluster = demo.prepare(
        root, nodes=points, http_port=broker.free_port(), mqtt_port=broker.free_port()
    )
    token = demo.credentials(cluster.config)["api_token"]
    observer = add_observer(cluster.config.broker_dir)
    server_priority.start_broker(cluster, deployed_priority=broker_as_deployed)
    cluster.start_controller()
    client = httpx.Client(
        base_url=cluster.url, headers={"Authorization": f"Bearer {token}"}, timeout=300
    )
    return cluster, client, observer


def spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (every thread, 200 Hz) into ``out`` until interrupted."""
    beside = Path(sys.executable).with_name("py-spy")
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy") or "py-spy"
    args = ["record", "-p", str(pid), "--threads", "-r", "200", "-f", "raw", "-o", str(out)]
    return subprocess.Popen([py_spy, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class Stages:
    response: float
    on_wire: list[float]
    at_node: list[float]
    started: list[float]
    report_all: float
    cpu: dict[str, float]  # until every point had said it started
    whole: dict[str, float]  # the whole round (the alert done, its acks), less the idle burn


def one_round(
    api: httpx.Client,
    nodes: LightNodes,
    watcher: CommandWatcher,
    points: int,
    pids: dict[str, list[int]],
    *,
    idle: dict[str, float],
) -> Stages:
    watcher.take()
    before = {name: sum(cpu_s(p) for p in ps) for name, ps in pids.items()}
    before["network"] = network_threads_cpu_s(pids["points"])
    cpu: dict[str, float] = {}

    def take_cpu() -> None:
        cpu.update({name: sum(cpu_s(p) for p in ps) - before[name] for name, ps in pids.items()})
        cpu["network"] = network_threads_cpu_s(pids["points"]) - before["network"]

    start = time.monotonic()
    done = emergency_round(api, nodes, points, on_points_started=take_cpu)
    time.sleep(ROUND_SETTLE_S)  # the last reports' acks, and the points dropping them
    whole = {name: sum(cpu_s(p) for p in ps) - before[name] for name, ps in pids.items()}
    # less what the processes burn idle (heartbeats, the points' ticks and keep-alives) for as
    # long as the round took, which grows with the machine's load, not with the round's work
    duration = time.monotonic() - start
    whole = {name: spent - idle[name] * duration for name, spent in whole.items()}
    return Stages(
        done.response,
        [at - done.sent for at in watcher.take().values()],
        done.command_at_node,
        done.started,
        done.controller_all_started,
        cpu,
        whole,
    )


def idle_rates(pids: dict[str, list[int]], seconds: float = IDLE_S) -> dict[str, float]:
    """CPU seconds per second each process group burns with nothing to do."""
    before = {name: sum(cpu_s(p) for p in ps) for name, ps in pids.items()}
    time.sleep(seconds)
    return {name: (sum(cpu_s(p) for p in ps) - before[name]) / seconds for name, ps in pids.items()}


def row(points: int, n: int, st: Stages) -> str:
    def pp(values: list[float]) -> str:
        return f"{percentile(values, 50):.2f} / {percentile(values, 99):.2f}"

    cpu = " / ".join(f"{st.cpu[k]:.1f}" for k in ("controller", "broker", "points", "network"))
    whole = " / ".join(f"{st.whole[k]:.2f}" for k in ("controller", "broker", "points"))
    return (
        f"| {points:,} | {n} | {st.response:.2f} | {pp(st.on_wire)} | {pp(st.at_node)} "
        f"| {pp(st.started)} | {st.report_all:.1f} | {cpu} | {whole} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-process", type=int, default=50)
    parser.add_argument("--nice", type=int, default=0, help="niceness of the points' processes")
    parser.add_argument("--profile", type=Path, help="record the controller with py-spy here")
    server_priority.add_option(parser)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loa-stages-"))
    shm = Path(tempfile.mkdtemp(prefix="loa-stages-", dir="/dev/shm"))
    cluster, api, observer = start(
        root, args.points, broker_as_deployed=not args.broker_default_priority
    )
    nodes = LightNodes(
        cluster.node_configs, shm, args.per_process, cluster.logs_dir, niceness=args.nice
    )
    spies: list[subprocess.Popen[bytes]] = []
    try:
        nodes.wait_online(args.points, timeout=120 + args.points * 0.2)
        wait_for(lambda: all_online(api, args.points), 120, "every point online")
        assert cluster.controller is not None
        assert cluster.broker_proc is not None
        watcher = CommandWatcher(cluster.config.mqtt_port, *observer)
        first = sorted(cluster.node_configs)[0]
        warm = api.post("/api/v1/alerts", data={"text": ALERT_TEXT, "nodes": first})
        warm.raise_for_status()
        api.post(f"/api/v1/alerts/{warm.json()['id']}/cancel").raise_for_status()
        time.sleep(3)
        pids = {
            "controller": [cluster.controller.popen.pid],
            "broker": [cluster.broker_proc.pid],
            "points": [p.pid for p in nodes.procs],
        }
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            spies = [
                spy(cluster.controller.popen.pid, args.profile / "controller.txt"),
                spy(nodes.procs[0].pid, args.profile / "points.txt"),
            ]
            time.sleep(2)
        print(
            "| points | round | API response | command on the wire p50 / p99 "
            "| at the point p50 / p99 | `started` p50 / p99 | report all started "
            "| CPU s to every point started: controller / broker / points (their network "
            "threads) | CPU s whole round less idle: controller / broker / points |"
        )
        print("|---:|---:|---:|---|---|---|---:|---|---|")
        idle = idle_rates(pids)
        for n in range(1, args.rounds + 1):
            stages = one_round(api, nodes, watcher, args.points, pids, idle=idle)
            print(row(args.points, n, stages), flush=True)
        rates = " / ".join(f"{idle[k]:.3f}" for k in ("controller", "broker", "points"))
        print(f"idle CPU s per second (controller / broker / points): {rates}")
        watcher.close()
    finally:
        for one in spies:
            one.send_signal(2)
            one.wait(60)
        nodes.close()
        api.close()
        cluster.stop_all()
        shutil.rmtree(shm, ignore_errors=True)  # the points' stores: memory, not disk
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
