"""What one upload adds to the controller's peak memory, measured on a real controller process.

    python -m bench.upload_memory [--minutes 3] [--repeat 2]

For each recording (generated Vietnamese speech: Opus as a phone sends it, and 48 kHz 16-bit
WAV as a recorder app or a browser's WAV export does): a fresh demo system (one provisioned
point, the project's Mosquitto, a real ``loa controller``); a 5-second upload first so every
import the chain needs is loaded; then the controller's resident memory (``VmRSS``) and its
high-water mark (``VmHWM``) before the upload, and the high-water mark after it. The
difference is what the upload's processing (decode, measurement, chain, encode, check) cost
at its peak, which ``bench.scale`` adds on top of the imports and the points' traffic.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench.light_nodes import proc_kb
from controller.nodes import broker
from controller.ops import demo

KB = 1024


def recordings(root: Path, minutes: float) -> dict[str, Path]:
    """The uploads: ``minutes`` of speech as Opus (16 kHz source, decoded at 48 kHz as every
    Opus file is) and as a 48 kHz WAV, and a 5-second warm-up clip."""
    from tests.support.audio import bulletin, ffmpeg, write_wav

    speech = root / "speech48.wav"
    write_wav(str(speech), bulletin(minutes * 60, 48000, noise_db=-50.0), 48000)
    opus = root / "phone.opus"
    ffmpeg("-i", str(speech), "-ar", "16000", "-c:a", "libopus", "-b:a", "32k", str(opus))
    warm = root / "warm.opus"
    ffmpeg("-i", str(speech), "-t", "5", "-c:a", "libopus", "-b:a", "32k", str(warm))
    return {"warm": warm, f"{minutes:g} min Opus": opus, f"{minutes:g} min WAV 48 kHz": speech}


def upload(api: httpx.Client, path: Path) -> float:
    """Post ``path`` as a bulletin to every point; the seconds the API call took."""
    t = time.perf_counter()
    with path.open("rb") as fh:
        resp = api.post("/api/v1/bulletins", files={"file": (path.name, fh)}, data={"all": "true"})
    resp.raise_for_status()
    return time.perf_counter() - t


def measure(root: Path, warm: Path, recording: Path) -> tuple[int, int, int, float]:
    """RSS and peak RSS (kB) before the upload, peak RSS after it, and its seconds."""
    ports = {"http_port": broker.free_port(), "mqtt_port": broker.free_port()}
    cluster = demo.prepare(root, nodes=1, **ports)
    token = demo.credentials(cluster.config)["api_token"]
    cluster.start_broker()
    try:
        cluster.start_controller()
        assert cluster.controller is not None
        pid = cluster.controller.popen.pid
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=600) as api:
            upload(api, warm)
            rss, before = proc_kb(pid, "VmRSS"), proc_kb(pid, "VmHWM")
            seconds = upload(api, recording)
            after = proc_kb(pid, "VmHWM")
        return rss, before, after, seconds
    finally:
        cluster.stop_controller()
        cluster.stop_broker()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        files = recordings(base, args.minutes)
        warm = files.pop("warm")
        print(
            f"\n{'upload':<20} {'RSS before':>10} {'peak before':>11} {'peak after':>10} "
            f"{'upload adds':>11} {'seconds':>8}"
        )
        for name, path in files.items():
            for run in range(args.repeat):
                rss, before, after, seconds = measure(base / f"{run}-{path.stem}", warm, path)
                print(
                    f"{name:<20} {rss // KB:>7} MB {before // KB:>8} MB {after // KB:>7} MB "
                    f"{(after - before) // KB:>8} MB {seconds:8.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
