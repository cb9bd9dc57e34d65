"""What one emergency costs a loudspeaker point itself: the node agent's command path, no broker.

    python -m bench.node_command_path --commands 300 [--dir DIR] [--profile]

A real node agent (``tests.support.offline_node``: its store, cache, player not started, a paho
client that is never connected), marked online, driven through its own message routing as paho
would: per round, one signed emergency on its shard's group topic naming it among 16 points,
then the ``started`` and ``finished`` the player would report, then the controller's
acknowledgement of the node's events (saying it reads batches of events, or with
``--no-batches`` as a controller from before them). Per round: CPU and wall time, SQLite
commits (each one a WAL fsync with ``synchronous=FULL``: on a Pi's SD card, the expensive
part) and publishes, and how many commits came before the ``started`` event went out. The
audio is in the cache (every round after the first in ``bench.scale``), or with
``--uncached`` not (the emergency is announced while its audio would load). The store is on
``--dir`` (default: a temporary directory on disk, so the fsyncs are real).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from node_agent.agent import NodeAgent
from protocol.messages import AudioRef, EventAck, PlayCommand, utcnow
from protocol.signing import sign_command
from protocol.topics import group_shard, group_topic, node_topic
from tests.support.keys import KEY
from tests.support.offline_node import offline_agent
from tests.support.shards import shard_mates

NODE = "loa-bench-point"
AUDIO = bytes(range(256)) * 400  # 100 KB: a spoken alert of about 30 s


class Counts:
    """SQLite commits and publishes, and the commits made before ``started`` went out."""

    def __init__(self, agent: NodeAgent) -> None:
        self.commits = self.publishes = 0
        self.commits_before_started = 0
        agent.store._db.set_trace_callback(self._statement)
        publish = agent.client.publish

        def counted(topic: str, payload: object = None, *args: object, **kw: object) -> object:
            self.publishes += 1
            if isinstance(payload, bytes | str) and b'"started"' in _bytes(payload):
                self.commits_before_started = self.commits
            return publish(topic, payload, *args, **kw)  # type: ignore[arg-type]

        agent.client.publish = counted  # type: ignore[method-assign,assignment]

    def _statement(self, sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            self.commits += 1


def _bytes(payload: bytes | str) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode()


def emergency(n: int, sha256: str, mates: list[str]) -> bytes:
    command = PlayCommand(
        play_id=f"play-{n}",
        bulletin_id=f"alert-{n}",
        title="Cảnh báo lũ",
        priority="emergency",
        audio=AudioRef(sha256=sha256, size=len(AUDIO), duration_s=10.0),
        valid_until=utcnow() + timedelta(hours=1),
    )
    _, envelope = sign_command(KEY, command, [*mates, NODE], expires_at=command.valid_until)
    return envelope.model_dump_json().encode()


def one_round(
    agent: NodeAgent, n: int, payload: bytes, counts: Counts, *, batches: bool = True
) -> None:
    agent._on_message(group_topic(group_shard(NODE)), payload)
    agent.events.play("started", f"play-{n}")  # as the player reports them
    agent.events.play("finished", f"play-{n}")
    ids = [e for e, _, _ in agent.store.due_outbox(float("inf"), limit=1000)]
    # as a controller that reads batches answers a node naming them, or (False) an older one
    ack = EventAck(event_ids=ids, batches=batches or None)
    agent._on_message(node_topic(NODE, "ack"), ack.model_dump_json(exclude_none=True).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--dir", type=Path, help="where the node's store goes")
    parser.add_argument("--uncached", action="store_true", help="the audio is not in the cache")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument(
        "--no-batches", action="store_true", help="a controller without event batches"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loa-nodecmd-", dir=args.dir))
    agent = offline_agent(root, NODE)
    agent.connected = True  # publishes go to paho's queue: its work, without a socket
    sha256 = hashlib.sha256(AUDIO).hexdigest()
    if not args.uncached:
        agent.cache.append(sha256, 0, AUDIO)
        agent.cache.finish(sha256)
    # Signing is the controller's work: done ahead, outside the measured rounds.
    mates = shard_mates(group_shard(NODE), 15, stem="loa-bench-mate")

    def audio(n: int) -> str:
        return f"{n + 100:064x}" if args.uncached else sha256

    payloads = {n: emergency(n, audio(n), mates) for n in range(-3, args.commands)}
    for n in range(-3, 0):  # warm-up: imports, first statements
        one_round(agent, n, payloads[n], Counts(agent), batches=not args.no_batches)
    counts = Counts(agent)
    profiler = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    before_started = 0
    if profiler:
        profiler.enable()
    for n in range(args.commands):
        at = counts.commits
        one_round(agent, n, payloads[n], counts, batches=not args.no_batches)
        before_started += counts.commits_before_started - at
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    agent.store.close()
    shutil.rmtree(root)
    k = args.commands
    print(
        f"{k} emergencies ({'audio not cached' if args.uncached else 'audio cached'}, "
        f"events {'one per message' if args.no_batches else 'in batches'}), "
        f"store under {root.parent}:\n"
        f"| CPU per round | wall per round | SQLite commits per round | commits before `started` "
        f"| publishes per round |\n|---:|---:|---:|---:|---:|\n"
        f"| {cpu / k * 1000:.2f} ms | {wall / k * 1000:.2f} ms | {counts.commits / k:.1f} "
        f"| {before_started / k:.1f} | {counts.publishes / k:.1f} |"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
