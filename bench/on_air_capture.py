"""How long the browser holds the microphone before it can leave: AudioWorklet PCM (what the
"Phát trực tiếp" page sends) against MediaRecorder's Opus in WebM (the alternative).

    python -m bench.on_air_capture [--seconds 8] [--timeslice 20]

Debian's Chromium (headless, a fake microphone saying a generated tone burst file) records
for ``--seconds`` both ways at once from one microphone. Each piece of data is stamped when the
page gets it (performance.now, from the moment both began). For PCM the audio it completes is
known (40 ms frames); for WebM this script finds it as a server would: it decodes the bytes
received so far with PyAV and counts the samples that come out. Hold = arrival time minus
the audio time decodable at that moment, the lowest hold of either method subtracted from
both (the microphone's own start-up delay is the same for both and not the methods' doing).
The figures are the latency each way adds before the live chain; the network adds the same.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.web import CHROMIUM, CHROMIUM_ARGS

PAGE = "http://localhost/bench"  # localhost: a secure context, so the microphone opens
WORKLET = """
class Tap extends AudioWorkletProcessor {
  constructor() { super(); this.n = 0; }
  process(inputs) {
    const x = inputs[0] && inputs[0][0];
    if (!x) return true;
    this.n += x.length;
    if (this.n >= 1920) { this.port.postMessage(this.n); this.n -= 1920; }
    return true;
  }
}
registerProcessor("tap", Tap);
"""
SCRIPT = """async ([seconds, timeslice, worklet]) => {
  const context = new AudioContext({ sampleRate: 48000, latencyHint: "interactive" });
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false,
    noiseSuppression: false, autoGainControl: false, channelCount: 1 } });
  await context.audioWorklet.addModule(
    URL.createObjectURL(new Blob([worklet], { type: "text/javascript" })));
  const tap = new AudioWorkletNode(context, "tap");
  const mute = context.createGain(); mute.gain.value = 0;
  context.createMediaStreamSource(stream).connect(tap).connect(mute).connect(context.destination);
  const pcm = [], webm = [];
  const recorder = new MediaRecorder(stream, { mimeType: "audio/webm;codecs=opus" });
  let t0 = null;
  tap.port.onmessage = () => { if (t0 !== null) pcm.push(performance.now() - t0); };
  recorder.ondataavailable = async (e) => {
    const at = performance.now() - t0;
    const bytes = Array.from(new Uint8Array(await e.data.arrayBuffer()));
    webm.push([at, bytes]);
  };
  await context.resume();
  t0 = performance.now();
  recorder.start(timeslice);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recorder.stop();
  await new Promise((r) => setTimeout(r, 300));
  return { pcm, webm };
}"""


def tone_bursts(path: Path, seconds: float) -> None:
    rate = 48000
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())


def decodable_seconds(data: bytes) -> float:
    """Seconds of audio an incremental server-side decoder gets from these bytes so far."""
    import av

    samples = 0
    try:
        with av.open(io.BytesIO(data), mode="r", format="webm") as container:
            for frame in container.decode(audio=0):
                samples += frame.samples
    except (av.error.FFmpegError, EOFError, ValueError):
        pass  # a cut cluster: what decoded before it counts
    return samples / 48000


def measure(seconds: float, timeslice: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "mic.wav"
        tone_bursts(wav, 4.0)
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            page = browser.new_page()
            page.route(PAGE, lambda r: r.fulfill(body="<!doctype html><title>b</title>"))
            page.goto(PAGE)
            got = page.evaluate(SCRIPT, [seconds, timeslice, WORKLET])
            browser.close()
    pcm = [at / 1000 - (i + 1) * 0.040 for i, at in enumerate(got["pcm"])]
    received = b""
    webm = []
    for at, chunk in got["webm"]:
        received += bytes(chunk)
        webm.append(at / 1000 - decodable_seconds(received))
    webm = webm[1:-1]  # the header-only first piece and the flush at stop
    base = min(*pcm, *webm)
    return {
        "pcm": [h - base for h in pcm],
        "webm": [h - base for h in webm],
        "webm_pieces": len(got["webm"]),
        "webm_bytes_per_s": len(received) / seconds,
    }


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else xs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--timeslice", type=int, default=20, help="MediaRecorder timeslice, ms")
    args = parser.parse_args()
    r = measure(args.seconds, args.timeslice)
    print("| method | pieces | hold p50 (ms) | hold p95 (ms) | bytes/s |")
    print("|---|---:|---:|---:|---:|")
    for name, holds, pieces, rate in (
        ("AudioWorklet PCM, 40 ms frames", r["pcm"], len(r["pcm"]), 96000),
        (
            f"MediaRecorder Opus/WebM, timeslice {args.timeslice} ms",
            r["webm"],
            r["webm_pieces"],
            r["webm_bytes_per_s"],
        ),
    ):
        print(
            f"| {name} | {pieces} | {pct(holds, 50) * 1000:.0f} | {pct(holds, 95) * 1000:.0f} "
            f"| {rate:,.0f} |"
        )


if __name__ == "__main__":
    main()
