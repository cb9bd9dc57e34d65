"""Live path figures: what a session costs and how late and in step it sounds.

    python -m bench.live [--seconds 10] [--frames 20,40,60]

Part 1, in this process: for each Opus frame size, the controller's CPU per second of live
audio (live chain, encode, sign), the node's (verify, replay window, decode), the signature
costs alone, and the bytes per second each point receives (whole MQTT PUBLISH packets).

Part 2, real parts: a broker, the controller and two node processes (WAV sinks), from
``controller.ops.demo.prepare``. This script speaks as the controller (its key, an account with
its rights), publishing a click every half second, in real time, with no impairment and then
with 5 % of packets dropped and each delayed by 0-100 ms (uniform) at the sender: the same
loss for both points, the broker's own path untouched. Each click's sound time in each node's
WAV (its record's start plus the sample) minus the click's source time is the mouth-to-horn
latency; the two nodes' times of the same click give the skew. Node CPU is each agent's own
(``/proc``) over the session, less the same span idle.

Part 3, per point: the second node reaches the broker through tests/support/radio_link.py,
a TCP proxy that behaves like a poor 4G link (5 % of the broker's chunks stalled 200-400 ms as
a TCP retransmission would, everything behind them held too, and up to 100 ms of jitter), while
the first node's link is clean. MQTT over TCP loses nothing: a radio loss shows as a stall
and a burst, which is what a point's jitter buffer must ride out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
import wave
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from audio.live_chain import LiveChain
from audio.live_opus import LiveDecoder, LiveEncoder
from protocol.limits import publish_packet_bytes
from protocol.live import LivePacket, SeqWindow, decode_packet, encode_packet
from protocol.messages import LiveStartCommand
from protocol.signing import load_public_key, new_private_key, public_key_b64, sign_command
from protocol.topics import node_topic, stream_topic
from tests.support.radio_link import RadioLink

RATE = 48000


def speechlike(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * RATE)) / RATE
    env = (np.sin(2 * np.pi * 3 * t) > 0.2).astype(np.float32)
    return (rng.standard_normal(t.size) * 0.05 * env).astype(np.float32)


def start_command(key: Any, frame_ms: int, quiet_s: float = 4.0) -> LiveStartCommand:
    return LiveStartCommand(
        session_id=uuid.uuid4().hex,
        stream_id=uuid.uuid4().hex,
        play_id=f"live-bench-{uuid.uuid4().hex[:8]}",
        packet_key=public_key_b64(key),
        frame_ms=frame_ms,
        max_seq=1_000_000,
        quiet_s=quiet_s,
    )


def costs(seconds: float, frame_ms: int) -> dict[str, float]:
    x = speechlike(seconds)
    key = new_private_key()
    start = start_command(key, frame_ms)
    t0 = time.process_time()
    chain, encoder = LiveChain(), LiveEncoder(frame_ms)
    frames = encoder.encode(chain.process(x)) + encoder.flush()
    t_encode = time.process_time() - t0
    t0 = time.process_time()
    packets = [
        encode_packet(key, LivePacket(start.session_id, k, k * frame_ms * 1000, f))
        for k, f in enumerate(frames)
    ]
    t_sign = time.process_time() - t0
    pub = load_public_key(start.packet_key)
    window, decoder = SeqWindow(), LiveDecoder(frame_ms)
    t0 = time.process_time()
    checked = [decode_packet(p, start, pub) for p in packets]
    t_verify = time.process_time() - t0
    t0 = time.process_time()
    for c in checked:
        window.take(c.seq)
        decoder.decode(c.opus)
    t_decode = time.process_time() - t0
    topic = stream_topic(start.stream_id)
    wire = sum(publish_packet_bytes(topic, p, qos=0, expiry=False) for p in packets)
    n = len(packets)
    return {
        "frame_ms": frame_ms,
        "controller_cpu_pct": 100 * (t_encode + t_sign) / seconds,
        "sign_us": 1e6 * t_sign / n,
        "node_cpu_pct": 100 * (t_verify + t_decode) / seconds,
        "verify_us": 1e6 * t_verify / n,
        "bytes_per_s": wire / seconds,
        "opus_bytes_per_s": sum(len(f) for f in frames) / seconds,
    }


# --- part 2: real broker and nodes -------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clicks(seconds: float) -> tuple[np.ndarray, list[int]]:
    x = np.zeros(int(seconds * RATE), np.float32)
    at = list(range(RATE // 2, len(x) - RATE // 2, RATE // 2))
    burst = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(480) / RATE)).astype(np.float32)
    for a in at:
        x[a : a + 480] = burst
    return x, at


def onsets(y: np.ndarray) -> list[int]:
    env = np.abs(y) > 0.1
    idx = np.flatnonzero(env)
    out: list[int] = []
    for i in idx:
        if not out or i - out[-1] > RATE // 4:
            out.append(int(i))
    return out


def session(
    cluster: Any,
    mqtt: Any,
    key: Any,
    *,
    seconds: float,
    loss: float,
    jitter_s: float,
    impaired: str = "at the sender, both points",
) -> dict[str, Any]:
    import threading

    nodes = list(cluster.node_configs)
    packet_key = new_private_key()
    start = start_command(packet_key, 40)
    for node_id in nodes:
        _b, env = sign_command(key, start, [node_id], ttl=timedelta(minutes=10))
        mqtt.publish(node_topic(node_id, "cmd"), env.model_dump_json(), qos=1)
    time.sleep(1.0)  # the points subscribe (the controller waits for their acks instead)
    x, at = clicks(seconds)
    encoder = LiveEncoder(40)
    frames = encoder.encode(x) + encoder.flush()
    delay = encoder.delay
    t0 = time.time() + 0.2 - delay / RATE  # packet 0 holds input from sample -delay
    topic = stream_topic(start.stream_id)
    rng = random.Random(1)
    cpu0 = {n: proc_cpu_s(cluster.nodes[n].popen.pid) for n in nodes}
    timers = []
    for seq, f in enumerate(frames):
        if rng.random() < loss:
            continue
        data = encode_packet(
            packet_key,
            LivePacket(
                start.session_id, seq, round(t0 * 1e6) + seq * 40_000, f, seq == len(frames) - 1
            ),
        )
        send_at = t0 + seq * 0.04 + rng.uniform(0, jitter_s)
        timer = threading.Timer(max(0.0, send_at - time.time()), mqtt.publish, (topic, data, 0))
        timer.start()
        timers.append(timer)
    for timer in timers:
        timer.join()
    wav = {
        n: Path(json.loads(cluster.node_configs[n].read_text())["data_dir"]) / "played"
        for n in nodes
    }
    deadline = time.time() + 30
    while time.time() < deadline and not all(
        (wav[n] / f"{start.play_id}.json").exists() for n in nodes
    ):
        time.sleep(0.2)
    cpu = {n: proc_cpu_s(cluster.nodes[n].popen.pid) - cpu0[n] for n in nodes}
    sounded: dict[str, list[float]] = {}
    for n in nodes:
        record = json.loads((wav[n] / f"{start.play_id}.json").read_text())
        with wave.open(str(wav[n] / f"{start.play_id}.wav")) as w:
            y = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        sounded[n] = [record["started_at"] + i / RATE for i in onsets(y)]
    spoken = [t0 + (a + delay) / RATE for a in at]
    latencies, skews = [], []
    for n in nodes:
        for s in sounded[n]:
            near = min(spoken, key=lambda t: abs(s - t - 1.0))
            latencies.append(s - near)
    per_point = {}
    for n in nodes:
        own = sorted(
            s - min(spoken, key=lambda t, s=s: abs(s - t - 1.0))  # type: ignore[misc]
            for s in sounded[n]
        )
        per_point[n] = {
            "p50_ms": round(1000 * statistics.median(own), 1) if own else None,
            "p95_ms": round(1000 * own[int(0.95 * (len(own) - 1))], 1) if own else None,
        }
    a, b = nodes[:2]
    for s in sounded[a]:
        other = min(sounded[b], key=lambda t: abs(t - s), default=None)
        if other is not None and abs(other - s) < 0.2:
            skews.append(abs(other - s))
    lat = sorted(latencies)
    return {
        "impaired": impaired,
        "per_point": per_point,
        "loss_pct": loss * 100,
        "jitter_ms": jitter_s * 1000,
        "clicks": len(at),
        "heard": {n: len(sounded[n]) for n in nodes},
        "p50_ms": 1000 * statistics.median(lat),
        "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
        "skew_max_ms": 1000 * max(skews) if skews else float("nan"),
        "node_cpu_pct": {n: 100 * cpu[n] / seconds for n in nodes},
    }


def real_parts(seconds: float) -> list[dict[str, Any]]:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from controller.nodes import broker
    from controller.ops import demo
    from protocol.signing import load_private_key
    from protocol.topics import controller_acl

    root = Path(tempfile.mkdtemp(prefix="loa-bench-live-"))
    cluster = demo.prepare(
        root,
        nodes=2,
        http_port=broker.free_port(),
        mqtt_port=broker.free_port(),
        mqtt_tls_port=broker.free_port(),
    )
    files = broker.BrokerFiles(cluster.config.broker_dir)
    password = broker.new_password()
    broker.set_password(files, "bench", password)
    with files.acl_file.open("a") as fh:
        fh.write("\n".join(["", "user bench", *controller_acl()]) + "\n")
    # the second point behind a link proxy, clean until part 3 impairs it
    behind = list(cluster.node_configs)[1]
    config = json.loads(cluster.node_configs[behind].read_text())
    proxy = RadioLink(config["broker_port"]).start()  # TLS or not, it passes through
    config["broker_port"] = proxy.port
    cluster.node_configs[behind].write_text(json.dumps(config))
    cluster.start_all()
    try:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench", protocol=paho.MQTTv5)
        client.username_pw_set("bench", password)
        client.connect("127.0.0.1", cluster.config.mqtt_port)
        client.loop_start()
        time.sleep(8)  # the nodes come online
        key = load_private_key(cluster.config.key_file.read_bytes())
        idle = {n: proc_cpu_s(cluster.nodes[n].popen.pid) for n in cluster.node_configs}
        time.sleep(seconds)
        idle_pct = {
            n: 100 * (proc_cpu_s(cluster.nodes[n].popen.pid) - idle[n]) / seconds
            for n in cluster.node_configs
        }
        out = [
            session(cluster, client, key, seconds=seconds, loss=loss, jitter_s=jitter)
            for loss, jitter in ((0.0, 0.0), (0.05, 0.1))
        ]
        proxy.loss, proxy.jitter_s = 0.05, 0.1
        out.append(
            session(
                cluster,
                client,
                key,
                seconds=seconds,
                loss=0.0,
                jitter_s=0.0,
                impaired=f"{behind}'s link: 5 % stalls 200-400 ms, 0-100 ms jitter",
            )
        )
        out[-1]["link"] = {"chunks": proxy.stats.chunks, "stalls": proxy.stats.stalls}
        out[-1]["link"]["held_max_ms"] = round(1000 * proxy.stats.held_s, 1)
        for row in out:
            row["node_idle_cpu_pct"] = idle_pct
        client.loop_stop()
        client.disconnect()
        return out
    finally:
        cluster.stop_all()
        proxy.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--frames", default="20,40,60")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    print(
        "frame_ms | controller CPU % | sign µs | node CPU % | verify µs | bytes/s per point"
        " | Opus bytes/s"
    )
    for frame_ms in (int(f) for f in args.frames.split(",")):
        c = costs(args.seconds, frame_ms)
        print(
            f"{c['frame_ms']:>8} | {c['controller_cpu_pct']:15.2f} | {c['sign_us']:7.1f} | "
            f"{c['node_cpu_pct']:10.2f} | {c['verify_us']:9.1f} | {c['bytes_per_s']:17.0f} | "
            f"{c['opus_bytes_per_s']:12.0f}"
        )
    if args.skip_real:
        return
    for row in real_parts(args.seconds):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
