"""Speed and memory of the audio chain on 10 minutes of 48 kHz mono speech, one core.

    .venv/bin/python -m bench.audio_speed [--minutes 10] [--skip-quality]

Each case runs in its own child process pinned to one core (``sched_setaffinity``), and
"peak memory" is that process's maximum resident set measured by GNU ``time`` (Python,
numpy, scipy and PyAV included, about 120 MB before any audio). "CPU" is the case's own
processor time (``time.process_time``): beside other load on the same core the wall time
grows by the time the case waits, the CPU time much less, so compare before and after on it.
For the Opus cases "libopus" is the CPU time spent encoding (the whole encode and the windows
re-encoded, inside :func:`audio.opus._encode_span`): the rest is the chain's own.
Reference tools run in the same session on the same file: pyloudnorm, FFmpeg ``ebur128``
(with true peak) and FFmpeg ``loudnorm`` two-pass. The Opus table compares encoder settings
on the chain's encoder input by speed, actual bit rate, true-peak overshoot of the decoded file
and PESQ-WB of the decoded result against the encoder input (first 60 s). The limiter table
compares release speeds on the chain's limiter input by loudness reached, limiting needed and
PESQ-WB against plain gain. Results go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CASES = {
    "chain_wav": "whole chain to WAV (decode … encode, verify)",
    "chain_wav_nodenoise": "whole chain to WAV, denoiser off",
    "chain_opus": "whole chain to Opus 32 kbit/s, complexity 7 (+ decode & verify)",
    "chain_opus_nodenoise": "whole chain to Opus, denoiser off",
    "chain_opus_c0": "whole chain to Opus at complexity 0 (the default before)",
    "meter": "meter alone: I + LRA + true peak (48 kHz samples in memory)",
    "pyloudnorm": "pyloudnorm integrated loudness only (48 kHz, in memory)",
    "denoise_only": "audio.denoise.denoise alone (16 kHz, in memory)",
}


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count_encoding() -> list[float]:
    """A one-element list that sums the CPU time spent in libopus's encoding from now on."""
    from audio import opus

    spent = [0.0]
    inner = opus._encode_span

    def timed(*args: Any, **kwargs: Any) -> list[opus.Packet]:
        c = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - c

    opus._encode_span = timed  # this child process only
    return spent


def run_case(case: str, src: Path, work: Path) -> dict[str, float]:
    """Runs inside the child process."""
    _pin()
    from audio.decode import decode_file
    from audio.pipeline import PipelineConfig, process_file

    if case.startswith("chain"):
        ext = "wav" if "wav" in case else "ogg"
        cfg = PipelineConfig(denoise="nodenoise" not in case)
        if case.endswith("_c0"):
            cfg = cfg.model_copy(update={"opus_complexity": 0})
        encoding = _count_encoding()
        t, c = time.perf_counter(), time.process_time()
        report = process_file(src, work / f"out.{ext}", cfg)
        return {
            "seconds": time.perf_counter() - t,
            "cpu": time.process_time() - c,
            "encode_cpu": encoding[0],
            "peak_mb": _peak_mb(),
            "passes": report.encode_passes,
            "whole_encodes": report.whole_encodes,
        }
    if case == "denoise_only":
        from audio.denoise import denoise

        x = decode_file(src, target_sr=16000).samples
        t, c = time.perf_counter(), time.process_time()
        denoise(x, 16000)
        return {
            "seconds": time.perf_counter() - t,
            "cpu": time.process_time() - c,
            "peak_mb": _peak_mb(),
        }
    x = decode_file(src).samples
    if case == "meter":
        from audio.loudness import measure

        t, c = time.perf_counter(), time.process_time()
        measure(x, 48000)
        return {
            "seconds": time.perf_counter() - t,
            "cpu": time.process_time() - c,
            "peak_mb": _peak_mb(),
        }
    if case == "pyloudnorm":
        import pyloudnorm

        t, c = time.perf_counter(), time.process_time()
        pyloudnorm.Meter(48000).integrated_loudness(x.astype(np.float64))
        return {
            "seconds": time.perf_counter() - t,
            "cpu": time.process_time() - c,
            "peak_mb": _peak_mb(),
        }
    raise SystemExit(f"unknown case {case}")


def _child(case: str, src: Path, work: Path) -> dict[str, float]:
    """Run one case in a fresh process. Peak memory comes from GNU time when present: a forked
    child's own ``ru_maxrss`` would inherit this (large) process's high-water mark."""
    timer = ["/usr/bin/time", "-f", "MAXRSS %M"] if Path("/usr/bin/time").exists() else []
    cmd = [sys.executable, "-m", "bench.audio_speed", "--child", case, str(src), str(work)]
    proc = subprocess.run([*timer, *cmd], check=True, capture_output=True, text=True)
    result = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    found = re.findall(r"MAXRSS (\d+)", proc.stderr)
    if found:
        result["peak_mb"] = float(found[-1]) / 1024
    return result


def _timed_cmd(cmd: list[str]) -> tuple[float, float, str]:
    """Wall time, peak RSS (MB, via GNU time when present) and stderr of ``cmd`` on one core."""
    timer = ["/usr/bin/time", "-f", "MAXRSS %M"] if Path("/usr/bin/time").exists() else []
    t = time.perf_counter()
    proc = subprocess.run(
        [*timer, "taskset", "-c", "0", *cmd], capture_output=True, text=True, check=True
    )
    dt = time.perf_counter() - t
    found = re.findall(r"MAXRSS (\d+)", proc.stderr)
    return dt, float(found[-1]) / 1024 if found else float("nan"), proc.stderr


def ffmpeg_cases(src: Path) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    if shutil.which("ffmpeg") is None:
        return rows
    base = ["ffmpeg", "-nostats", "-hide_banner", "-threads", "1", "-i", str(src)]
    dt, mem, _ = _timed_cmd([*base, "-af", "ebur128=peak=true", "-f", "null", "-"])
    rows.append(("ffmpeg ebur128 (I, LRA, true peak)", dt, mem))
    dt1, _, err = _timed_cmd(
        [*base, "-af", "loudnorm=I=-16:TP=-1:LRA=11:print_format=json", "-f", "null", "-"]
    )
    stats = json.loads(err[err.rindex("{") : err.rindex("}") + 1])
    with tempfile.TemporaryDirectory() as tmp:
        second = (
            f"loudnorm=I=-16:TP=-1:LRA=11:measured_I={stats['input_i']}:"
            f"measured_TP={stats['input_tp']}:measured_LRA={stats['input_lra']}:"
            f"measured_thresh={stats['input_thresh']}:offset={stats['target_offset']}:linear=true"
        )
        dt2, mem2, _ = _timed_cmd([*base, "-af", second, "-ar", "48000", f"{tmp}/o.wav", "-y"])
    rows.append(("ffmpeg loudnorm two-pass to WAV", dt1 + dt2, mem2))
    return rows


OPUS_SETTINGS = [  # input rate, complexity, application, packet ms, rate control
    (16000, 0, "audio", 60, "off"),
    (16000, 7, "audio", 60, "off"),
    (16000, 0, "audio", 60, "on"),
    (16000, 5, "audio", 60, "off"),
    (16000, 5, "audio", 20, "on"),
    (16000, 10, "audio", 20, "on"),
    (16000, 0, "voip", 60, "off"),
    (16000, 5, "voip", 20, "on"),
    (24000, 0, "audio", 60, "off"),
    (48000, 5, "audio", 20, "on"),
]


def opus_table(src: Path, work: Path) -> list[tuple[str, float, float, float, float | None]]:
    """Encoder settings on the chain's own encoder input (16 kHz, limited to -2 dBTP): encode
    time and bit rate for the whole file, the decoded file's true-peak overshoot, and PESQ-WB
    of the decoded first 60 s against the encoder input."""
    from audio.decode import decode_file
    from audio.encode import write_audio
    from audio.pipeline import PipelineConfig, process_file
    from audio.resample import resample
    from audio.truepeak import true_peak_db

    _pin()
    ref_path = work / "ref.wav"
    # what the chain hands the encoder: 16 kHz, -16 LUFS, true peak -2 dBTP (a WAV is limited
    # 0.05 dB under its limit, a lossy file a further codec_headroom_db = 1 dB)
    process_file(src, ref_path, PipelineConfig(denoise=False, true_peak_max_db=-1.95))
    ref16 = decode_file(ref_path).samples
    peak = true_peak_db(ref16, 16000)
    try:
        from pesq import pesq
    except ImportError:
        pesq = None
    rows = []
    for rate, complexity, app, frame_ms, vbr in OPUS_SETTINGS:
        x = resample(ref16, 16000, rate)
        out = work / "enc.ogg"
        t = time.perf_counter()
        write_audio(
            out,
            x,
            rate,
            opus_complexity=complexity,
            opus_application=app,
            opus_frame_ms=frame_ms,
            opus_vbr=vbr,
        )
        dt = time.perf_counter() - t
        kbps = out.stat().st_size * 8 / (ref16.size / 16000) / 1000
        dec = decode_file(out)
        overshoot = true_peak_db(dec.samples, dec.sample_rate) - peak
        score = None
        if pesq is not None:
            dec16 = resample(dec.samples[: 60 * dec.sample_rate], dec.sample_rate, 16000)
            n = min(dec16.size, 60 * 16000)
            score = float(pesq(16000, ref16[:n], dec16[:n], "wb"))
        label = f"{rate // 1000} kHz, c{complexity}, {app}, {frame_ms} ms, vbr {vbr}"
        rows.append((label, dt, kbps, overshoot, score))
    return rows


def limiter_table(src: Path) -> list[tuple[float, float, float, float, float | None]]:
    """The limiter's release speed on the chain's own limiter input (16 kHz, after the
    compressor): for each release and ceiling, the gain the chain applies, how much of it
    the limiter takes back (dB beyond plain gain to the target) and PESQ-WB of the limited
    speech against the same speech at plain gain (mean of six 20 s stretches)."""
    from audio.decode import decode_file
    from audio.loudness import integrated_loudness
    from audio.pipeline import PipelineConfig, normalize, process

    _pin()
    x = decode_file(src).samples
    pre, rate, _ = process(x, 48000, PipelineConfig(normalize=False, limit=False))
    plain_gain = -16.0 - integrated_loudness(pre, rate)
    plain = pre * np.float32(10.0 ** (plain_gain / 20.0))
    try:
        from pesq import pesq
    except ImportError:
        pesq = None
    stretches = [slice(k * rate, (k + 20) * rate) for k in range(0, pre.size // rate - 20, 100)]
    rows = []
    for release in (60.0, 120.0, 200.0, 400.0):
        for ceiling in (-2.0, -3.0):
            y, gain = normalize(
                pre,
                rate,
                target_lufs=-16.0,
                ceiling_db=ceiling,
                exact_ceiling=False,
                release_db_per_s=release,
            )
            score = None
            if pesq is not None:
                score = float(np.mean([pesq(rate, plain[s], y[s], "wb") for s in stretches[:6]]))
            loud = integrated_loudness(y, rate)
            rows.append((release, ceiling, loud, gain - plain_gain, score))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "SRC", "WORK"))
    args = parser.parse_args()
    if args.child:
        case, src, work = args.child
        print(json.dumps(run_case(case, Path(src), Path(work))))
        return
    from tests.support.audio import bulletin, write_wav

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "speech48.wav"
        print(f"generating {args.minutes:g} min of 48 kHz speech (espeak-ng, vi voices)…")
        write_wav(str(src), bulletin(args.minutes * 60, 48000, noise_db=-50.0), 48000)
        print(f"\n{'case':<58} {'seconds':>8} {'CPU s':>6} {'peak MB':>8}")
        for case, label in CASES.items():
            try:
                r = _child(case, src, work)
            except subprocess.CalledProcessError as exc:
                print(f"{label:<58} failed: {exc.stderr.strip().splitlines()[-1:]}")
                continue
            passes = (
                f"  {r['passes']:.0f} passes, {r['whole_encodes']:.0f} whole encode(s)"
                if "passes" in r
                else ""
            )
            if r.get("encode_cpu"):
                passes += f", libopus {r['encode_cpu']:.2f} s CPU"
            print(f"{label:<58} {r['seconds']:8.2f} {r['cpu']:6.2f} {r['peak_mb']:8.0f}{passes}")
        for label, dt, mem in ffmpeg_cases(src):
            print(f"{label:<58} {dt:8.2f} {'':>6} {mem:8.0f}")
        if not args.skip_quality:
            print(
                f"\n{'Opus encoder setting (10 min)':<44} {'enc s':>6} {'kbit/s':>7} "
                f"{'TP over':>8} {'PESQ-WB':>8}"
            )
            for label, dt, kbps, over, score in opus_table(src, work):
                s = f"{score:8.2f}" if score is not None else "     n/a"
                print(f"{label:<44} {dt:6.2f} {kbps:7.1f} {over:+8.2f} {s}")
            print(
                f"\n{'limiter release, ceiling':<30} {'LUFS':>7} {'limiting dB':>12} {'PESQ-WB':>8}"
            )
            for release, ceiling, loud, limiting, score in limiter_table(src):
                s = f"{score:8.2f}" if score is not None else "     n/a"
                label = f"{release:g} dB/s, {ceiling:g} dBTP"
                print(f"{label:<30} {loud:7.2f} {limiting:12.1f} {s}")


if __name__ == "__main__":
    main()
