"""`loa live --zones ... [--nodes ...] FILE|-`: speak live from a file or standard input.

The audio is decoded here (anything PyAV reads; ``-`` is standard input, a container or, with
``--raw``, 16-bit mono PCM), sent in real time to the controller's HTTP API with the operator's
API token (the same one ``loa alert`` uses: the audit log names its account), and the controller
does the rest. Ctrl-C ends the session cleanly: the audio stops, the points fade out on the last
packet, and the session is kept and reported like any other.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from controller.ops.api_access import add_options, url_and_token

BLOCK_S = 0.04  # one 40 ms block per send: what the controller's frames are made of


def add_parser(sub: Any) -> None:
    p = sub.add_parser("live", help="speak live to the points from a file or standard input")
    p.add_argument("source", help="an audio file, or - for standard input")
    p.add_argument("--zones", default="", help="village codes, comma-separated")
    p.add_argument("--nodes", default="", help="point ids, comma-separated")
    p.add_argument("--all", action="store_true", help="every point")
    p.add_argument("--title", default="")
    p.add_argument("--reason", default="", help="why (kept in the audit log)")
    p.add_argument("--raw", action="store_true", help="stdin is s16le mono PCM, no container")
    p.add_argument("--raw-rate", type=int, default=48000, help="sample rate of --raw input")
    p.add_argument("--delay-ms", type=int, default=1000, help="source to loudspeaker delay")
    add_options(p)


def _paced(blocks: Iterator[Any], interrupted: threading.Event) -> Iterator[bytes]:
    """16-bit PCM in real time: a block leaves when its time has come, as a voice would."""
    import numpy as np

    t0 = time.monotonic()
    sent = 0
    held = np.zeros(0, np.float32)
    step = round(48000 * BLOCK_S)
    for block in blocks:
        held = np.concatenate([held, block])
        while len(held) >= step and not interrupted.is_set():
            piece, held = held[:step], held[step:]
            wait = t0 + sent / 48000 - time.monotonic()
            if wait > 0 and interrupted.wait(wait):
                return
            sent += len(piece)
            yield (np.clip(piece, -1, 1) * 32767).astype("<i2").tobytes()
        if interrupted.is_set():
            return
    if len(held) and not interrupted.is_set():
        yield (np.clip(held, -1, 1) * 32767).astype("<i2").tobytes()


def run(args: argparse.Namespace) -> int:
    import httpx

    from audio.errors import AudioError
    from audio.live_source import decode_live

    access = url_and_token(args, "live")
    if access is None:
        return 2
    url, token = access
    if not (args.all or args.zones or args.nodes):
        print("loa live: choose where: --zones, --nodes or --all", file=sys.stderr)
        return 2
    if args.source == "-":
        source: Any = sys.stdin.buffer
    else:
        source = Path(args.source)
        if not source.is_file():
            print(f"loa live: no such file {source}", file=sys.stderr)
            return 2
    interrupted = threading.Event()
    # Ctrl-C ends the body; the controller then closes the session and answers as usual
    signal.signal(signal.SIGINT, lambda _s, _f: interrupted.set())
    signal.signal(signal.SIGTERM, lambda _s, _f: interrupted.set())
    params: dict[str, Any] = {
        "all": str(args.all).lower(),
        "zones": args.zones,
        "nodes": args.nodes,
        "title": args.title,
        "reason": args.reason,
        "delay_ms": args.delay_ms,
    }
    blocks = decode_live(source, raw=args.raw, raw_rate=args.raw_rate)
    try:
        first = next(blocks)
    except (AudioError, StopIteration) as exc:
        print(f"loa live: {exc or 'the source has no audio'}", file=sys.stderr)
        return 2

    def body() -> Iterator[bytes]:
        def chained() -> Iterator[Any]:
            yield first
            yield from blocks

        yield from _paced(chained(), interrupted)

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "audio/L16;rate=48000"}
    timeout = httpx.Timeout(30, read=None)  # the answer comes when the session ends
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=timeout) as client:
            resp = client.post("/api/v1/live", params=params, content=body())
    except AudioError as exc:
        print(f"loa live: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"loa live: {exc}", file=sys.stderr)
        return 1
    if resp.is_error:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        print(f"loa live: {resp.status_code}: {detail}", file=sys.stderr)
        return 2
    print(json.dumps(resp.json(), ensure_ascii=False, indent=2))
    return 0
