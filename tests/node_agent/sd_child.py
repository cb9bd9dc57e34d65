"""A SounddeviceSink in its own process, driven over stdin/stdout by tests.

PortAudio reads the ALSA configuration once, when ``sounddevice`` is imported, so a test that
points ALSA at a capture file has to play from a process started with that environment.

Usage: ``python -m tests.node_agent.sd_child '<json sink options>'``. Prints one JSON line
``{"ready": ...}`` (or ``{"error": ...}`` and exits), then takes lines on stdin:
``{"play": {"input": "x.npy", "sample_rate": .., "label": .., "gain": .., "stopped": ..}}``
(with ``"stream": true`` it goes through ``play_stream``, each block made just in time)
answered by
``{"record": {...}}``, ``{"error": "..."}`` or ``{"value_error": "..."}``; and ``stop``, which
sets the stop event of the item playing.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from node_agent.sinks import SinkError, SounddeviceSink

_out = threading.Lock()


def _say(message: dict[str, Any]) -> None:
    with _out:
        print(json.dumps(message), flush=True)


def paced(blocks: list[Any], sample_rate: int, start_at: float | None = None) -> Any:
    """The blocks as a live source makes them: each one only once its time has come (from
    ``start_at``, epoch seconds, or from now)."""
    t0 = start_at if start_at is not None else time.time()
    made = 0
    for block in blocks:
        time.sleep(max(0.0, t0 + made / sample_rate - 0.05 - time.time()))
        made += len(block)
        yield block


def _play(sink: SounddeviceSink, request: dict[str, Any], stop: threading.Event) -> None:
    try:
        whole = np.load(request["input"])
        blocks = np.split(whole, request["splits"])
        if request.get("stream"):
            record = sink.play_stream(
                paced(blocks, request["sample_rate"], request.get("start_at")),
                request["sample_rate"],
                label=request["label"],
                stop=stop,
                gain=request.get("gain", 1.0),
                start_at=request.get("start_at"),
            )
        else:
            samples = whole if len(blocks) == 1 else (b for b in blocks)
            record = sink.play(
                samples,
                request["sample_rate"],
                label=request["label"],
                stop=stop,
                gain=request.get("gain", 1.0),
            )
    except SinkError as exc:
        _say({"error": str(exc)})
    except ValueError as exc:
        _say({"value_error": str(exc)})
    else:
        _say({"record": asdict(record)})


def main() -> None:
    try:
        sink = SounddeviceSink(**json.loads(sys.argv[1]))
    except SinkError as exc:
        _say({"error": str(exc)})
        return
    _say({"ready": sink.device_name})
    stop = threading.Event()
    for line in sys.stdin:
        if line.strip() == "stop":
            stop.set()
            continue
        stop = threading.Event()
        request = json.loads(line)["play"]
        if request.get("stopped"):
            stop.set()
        threading.Thread(target=_play, args=(sink, request, stop)).start()


if __name__ == "__main__":
    main()
