"""The audio sinks: one test class run against both, so the simulated node cannot drift from
the real one.

The sound card is real PortAudio/ALSA output: ALSA's ``file`` plugin captures what PortAudio
plays into a raw file (behind a ``plug`` that fixes the format at S16, as a real card would),
and the sink runs in a child process started with that ALSA configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.signal import correlate, resample_poly

from audio.resample import resample_stream
from node_agent.blocks import Audio, Samples
from node_agent.sinks import (
    AudioSink,
    PlaybackRecord,
    SinkError,
    WavFileSink,
    make_sink,
    wait_until,
)
from tests.node_agent.sd_child import paced

REPO = Path(__file__).resolve().parents[2]
ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
LSB = 1 / 32768
TOL = 2 * LSB  # int16 rounding, ours or ALSA's


def signal(seconds: float, sr: int, *, seed: int = 1) -> NDArray[np.float32]:
    """A tone plus noise: any misplaced, dropped or repeated block shows, and it correlates
    to a single sharp peak."""
    t = np.arange(round(seconds * sr)) / sr
    noise = np.random.default_rng(seed).uniform(-0.3, 0.3, t.size)
    return (0.4 * np.sin(2 * np.pi * 440 * t) + noise).astype(np.float32)


# --- the sound card, in a child process ---------------------------------------------------------


def alsa_capture_env(tmp: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ALSA default device writes S16 raw audio to a file."""
    if not ALSA_CONF.exists():
        pytest.fail(f"{ALSA_CONF} missing: is libasound2 installed?")
    raw = tmp / "out.raw"
    conf = tmp / "capture.conf"
    conf.write_text(
        'pcm.!default { type plug; slave { pcm "loa_capture"; format S16_LE } }\n'
        f'pcm.loa_capture {{ type file; slave.pcm "null"; file "{raw}"; format "raw" }}\n'
    )
    # Our file last, after the system's: its !default overrides any other default.
    env = {**os.environ, "ALSA_CONFIG_PATH": f"{ALSA_CONF}:{conf}", "PYTHONPATH": str(REPO)}
    return env, raw


class ChildSounddeviceSink:
    """An AudioSink whose SounddeviceSink plays in a child process (see sd_child.py)."""

    def __init__(self, env: dict[str, str], workdir: Path, **options: Any) -> None:
        self._workdir = workdir
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.node_agent.sd_child", json.dumps(options)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._reply()
        if "error" in hello:
            self.close()
            raise SinkError(hello["error"])
        self.device_name: str = hello["ready"]

    def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sd_child exited with {self._proc.wait()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def play(
        self,
        samples: Audio,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
        stream: bool = False,
    ) -> PlaybackRecord:
        if not stream and wait_until(start_at, stop or threading.Event()):
            return PlaybackRecord(time.time(), time.time(), 0, sample_rate, True)
        path = self._workdir / "input.npy"
        blocks = [samples] if isinstance(samples, np.ndarray) else list(samples)
        np.save(path, np.concatenate(blocks))
        request = {
            "input": str(path),
            # the child hands its sink the same blocks, as a generator
            "splits": np.cumsum([len(b) for b in blocks])[:-1].tolist(),
            "sample_rate": sample_rate,
            "label": label,
            "gain": gain,
            "stopped": stop is not None and stop.is_set(),
            "stream": stream,
            "start_at": start_at if stream else None,
        }
        self._send(json.dumps({"play": request}))
        done = threading.Event()

        def forward_stop() -> None:
            while not done.wait(0.002):
                if stop is not None and stop.is_set():
                    self._send("stop")
                    return

        forwarder = threading.Thread(target=forward_stop)
        forwarder.start()
        try:
            reply = self._reply()
        finally:
            done.set()
            forwarder.join()
        if "value_error" in reply:
            raise ValueError(reply["value_error"])
        if "error" in reply:
            raise SinkError(reply["error"])
        return PlaybackRecord(**reply["record"])

    def play_stream(
        self,
        blocks: Iterable[Samples],
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        """The child's sink gets the blocks just in time, as a live source makes them."""
        return self.play(
            list(blocks),
            sample_rate,
            label=label,
            stop=stop,
            gain=gain,
            start_at=start_at,
            stream=True,
        )

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


# --- one harness per sink: the sink, and a way to read back what came out -----------------------


@dataclass
class Harness:
    kind: str
    sink: AudioSink
    # What came out for a label, as (frames, channels) floats, or None if nothing did.
    output: Callable[[str, int], NDArray[np.float64] | None]
    # How many frames a sink may have handed out beyond those it reports as played.
    overshoot_s: float


def read_wav(directory: Path) -> Callable[[str, int], NDArray[np.float64] | None]:
    def output(label: str, sr: int) -> NDArray[np.float64] | None:
        path = directory / f"{label}.wav"
        if not path.exists():
            return None
        with wave.open(str(path), "rb") as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, sr)
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        return pcm.reshape(-1, 1) * LSB

    return output


def read_raw(raw: Path) -> Callable[[str, int], NDArray[np.float64] | None]:
    def output(label: str, sr: int) -> NDArray[np.float64] | None:
        if not raw.exists() or raw.stat().st_size == 0:
            return None
        return np.frombuffer(raw.read_bytes(), "<i2").reshape(-1, 2) * LSB

    return output


@pytest.fixture(params=["wav", "sounddevice"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "wav":
        yield Harness("wav", WavFileSink(tmp_path / "node"), read_wav(tmp_path / "node"), 0.0)
        return
    env, raw = alsa_capture_env(tmp_path)
    sink = ChildSounddeviceSink(env, tmp_path)
    try:
        # Pacing lets the card's buffer run up to its latency plus 0.25 s ahead of the clock.
        yield Harness("sounddevice", sink, read_raw(raw), 0.5)
    finally:
        sink.close()


@pytest.fixture(params=["wav", "sounddevice"])
def fading(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """The same two sinks, set to fade out over 0.2 s when stopped."""
    if request.param == "wav":
        sink = WavFileSink(tmp_path / "node", fade_s=0.2)
        yield Harness("wav", sink, read_wav(tmp_path / "node"), 0.0)
        return
    env, raw = alsa_capture_env(tmp_path)
    child = ChildSounddeviceSink(env, tmp_path, fade_s=0.2)
    try:
        yield Harness("sounddevice", child, read_raw(raw), 0.5)
    finally:
        child.close()


def test_a_stopped_item_fades_out_instead_of_stopping_dead(fading: Harness) -> None:
    sr = 48000
    x = np.full(int(1.5 * sr), 0.5, dtype=np.float32)  # a level that makes the ramp visible
    stop = threading.Event()
    timer = threading.Timer(0.4, stop.set)
    timer.start()
    rec = fading.sink.play(x, sr, label="faded", stop=stop)
    timer.join()
    assert rec.interrupted
    out = fading.output("faded", sr)
    assert out is not None
    level = np.abs(out[:, 0])
    heard = np.flatnonzero(level > 2 * LSB)
    end = heard[-1]
    ramp = level[end - int(0.2 * sr) + 1 : end + 1]
    assert ramp[0] > 0.4  # full level when the fade begins
    assert ramp[-1] < 0.01  # silence at its end
    assert np.all(np.diff(ramp) <= 2 * LSB)  # and it only ever goes down
    assert rec.seconds_played < 1.0


def assert_came_out(
    out: NDArray[np.float64] | None, sent: NDArray[np.float32], played: int, overshoot: int
) -> None:
    """``out`` holds the first ``played`` samples of ``sent`` (plus at most ``overshoot`` more),
    the same on every channel, and silence around them."""
    assert out is not None, "nothing came out"
    for ch in range(1, out.shape[1]):
        np.testing.assert_array_equal(out[:, ch], out[:, 0])
    mono = out[:, 0]
    peak = int(np.argmax(correlate(mono, sent[: max(played, 1)], mode="full", method="fft")))
    lag = peak - (max(played, 1) - 1)
    assert 0 <= lag < 0.1 * len(sent) + 4800, f"output starts {lag} frames late"
    heard = mono[lag : lag + len(sent)]
    heard = heard[: np.flatnonzero(np.abs(heard) > LSB)[-1] + 1]  # trailing padding is silence
    assert played <= len(heard) <= played + overshoot
    np.testing.assert_allclose(heard, sent[: len(heard)], rtol=0, atol=TOL)
    assert np.all(np.abs(mono[:lag]) <= LSB)
    assert np.all(np.abs(mono[lag + len(heard) :]) <= LSB)


def just_in_time(
    harness: Harness, blocks: list[Samples], start_at: float | None
) -> Iterable[Samples]:
    """Blocks made as a live source makes them; the sounddevice harness's child makes them so
    itself (the parent only ships the samples)."""
    return blocks if harness.kind == "sounddevice" else paced(blocks, 48000, start_at)


class TestAudioSink:
    SR = 48000

    def test_what_goes_in_comes_out(self, harness: Harness) -> None:
        x = signal(0.4, self.SR)
        before = time.time()
        rec = harness.sink.play(x, self.SR, label="bulletin-1")
        after = time.time()
        assert rec == PlaybackRecord(rec.started_at, rec.ended_at, len(x), self.SR, False)
        assert before <= rec.started_at <= rec.ended_at <= after
        assert_came_out(harness.output("bulletin-1", self.SR), x, len(x), 0)

    def test_takes_the_real_duration(self, harness: Harness) -> None:
        x = signal(0.6, self.SR)
        t0 = time.monotonic()
        rec = harness.sink.play(x, self.SR, label="timed")
        assert time.monotonic() - t0 >= 0.9 * 0.6
        assert 0.9 * 0.6 <= rec.ended_at - rec.started_at <= 0.6 + 0.5
        assert rec.seconds_played == pytest.approx(0.6)

    def test_other_rates_play_at_their_own_speed(self, harness: Harness) -> None:
        x = signal(0.5, 16000)
        rec = harness.sink.play(x, 16000, label="phone")
        assert (rec.sample_rate, rec.frames_played) == (16000, len(x))
        assert 0.9 * 0.5 <= rec.ended_at - rec.started_at <= 0.5 + 0.5
        assert_came_out(harness.output("phone", 16000), x, len(x), 0)

    def test_gain_scales_the_output(self, harness: Harness) -> None:
        x = signal(0.3, self.SR)
        harness.sink.play(x, self.SR, label="quiet", gain=0.5)
        assert_came_out(harness.output("quiet", self.SR), x * np.float32(0.5), len(x), 0)

    def test_stop_cuts_the_item_short(self, harness: Harness) -> None:
        x = signal(1.5, self.SR)
        stop = threading.Event()
        stopped_at: list[float] = []

        def pre_empt() -> None:
            stopped_at.append(time.time())
            stop.set()

        timer = threading.Timer(0.4, pre_empt)
        timer.start()
        rec = harness.sink.play(x, self.SR, label="cut", stop=stop)
        timer.join()
        assert rec.interrupted
        assert 0 < rec.frames_played < len(x)
        # Loose on purpose: the target is tens of milliseconds, but CI machines stall.
        assert rec.ended_at - stopped_at[0] < 0.3
        assert rec.seconds_played <= stopped_at[0] - rec.started_at + 0.05
        overshoot = round(harness.overshoot_s * self.SR)
        assert_came_out(harness.output("cut", self.SR), x, rec.frames_played, overshoot)

    def test_blocks_come_out_as_the_whole_item(self, harness: Harness) -> None:
        # A bulletin decoded as it plays: uneven blocks, one of them empty.
        x = signal(0.5, 16000)
        blocks = np.split(x, [0, 960, 961, 3000, 3000, 7000])
        rec = harness.sink.play(iter(blocks), 16000, label="streamed", gain=0.5)
        assert (rec.sample_rate, rec.frames_played, rec.interrupted) == (16000, len(x), False)
        assert_came_out(harness.output("streamed", 16000), x * np.float32(0.5), len(x), 0)

    def test_a_stream_made_just_in_time_plays_whole_at_its_start_time(
        self, harness: Harness
    ) -> None:
        # A live session: 40 ms blocks, each made only when its time comes, and a start time
        # that every point shares.
        x = signal(0.6, self.SR)
        blocks = np.split(x, range(1920, len(x), 1920))
        start_at = time.time() + 1.0  # as a live session's delay leaves: the device opens
        rec = harness.sink.play_stream(
            just_in_time(harness, blocks, start_at), self.SR, label="live-1", start_at=start_at
        )
        assert (rec.frames_played, rec.interrupted) == (len(x), False)
        assert abs(rec.started_at - start_at) < 0.02
        assert 0.9 * 0.6 <= rec.ended_at - rec.started_at <= 0.6 + 0.5
        assert_came_out(harness.output("live-1", self.SR), x, len(x), 0)

    def test_a_stream_stops_when_told(self, harness: Harness) -> None:
        x = signal(1.5, self.SR)
        stop = threading.Event()
        timer = threading.Timer(0.4, stop.set)
        timer.start()
        rec = harness.sink.play_stream(
            just_in_time(harness, np.split(x, range(1920, len(x), 1920)), None),
            self.SR,
            label="live-cut",
            stop=stop,
        )
        timer.join()
        assert rec.interrupted
        assert 0 < rec.frames_played < len(x)

    def test_stop_set_beforehand_plays_nothing(self, harness: Harness) -> None:
        stop = threading.Event()
        stop.set()
        rec = harness.sink.play(signal(1.0, self.SR), self.SR, label="never", stop=stop)
        assert rec.interrupted
        assert rec.frames_played == 0
        assert rec.ended_at - rec.started_at < 0.1
        out = harness.output("never", self.SR)
        assert out is None or len(out) == 0

    def test_empty_item(self, harness: Harness) -> None:
        rec = harness.sink.play(np.zeros(0, np.float32), self.SR, label="empty")
        assert (rec.frames_played, rec.interrupted) == (0, False)

    def test_bad_requests_raise_and_output_nothing(self, harness: Harness) -> None:
        good = signal(0.1, self.SR)
        nan = np.where(np.arange(good.size) == 5, np.nan, good).astype(np.float32)
        bad: list[tuple[NDArray[Any], int, str, float, str]] = [
            (np.stack([good, good], axis=1), self.SR, "stereo", 1.0, "shape"),
            ((good * 32767).astype(np.int16), self.SR, "int", 1.0, "dtype"),
            (nan, self.SR, "nan", 1.0, "NaN"),
            (good, 0, "zero-rate", 1.0, "sample_rate"),
            (good, self.SR, "../escape", 1.0, "label"),
            (good, self.SR, "negative-gain", -1.0, "gain"),
        ]
        for samples, sr, label, gain, reason in bad:
            with pytest.raises(ValueError, match=reason):
                harness.sink.play(samples, sr, label=label, gain=gain)
            assert harness.output(label, self.SR) is None, label


# --- each sink's own promises -------------------------------------------------------------------


def test_wav_sink_writes_its_record_and_no_temporary_files(tmp_path: Path) -> None:
    sink = WavFileSink(tmp_path)
    rec = sink.play(signal(0.2, 8000), 8000, label="item_7")
    saved = json.loads((tmp_path / "item_7.json").read_text())
    assert saved.pop("label") == "item_7"
    assert PlaybackRecord(**saved) == rec
    assert sorted(p.name for p in tmp_path.iterdir()) == ["item_7.json", "item_7.wav"]


def test_wav_sink_ends_on_its_own_clock_not_when_its_thread_wakes(tmp_path: Path) -> None:
    """Like a sound card, the simulated one sounds its last sample at start + frames / rate;
    a late wake-up on a busy machine must not move the end two points agree on."""
    rec = WavFileSink(tmp_path).play(signal(0.3, 8000), 8000, label="clocked")
    assert rec.ended_at == pytest.approx(rec.started_at + rec.seconds_played, abs=1e-6)


def test_wav_sink_not_realtime_writes_at_once(tmp_path: Path) -> None:
    x = signal(5.0, 8000)
    t0 = time.monotonic()
    rec = WavFileSink(tmp_path, realtime=False).play(x, 8000, label="fast")
    assert time.monotonic() - t0 < 2.0
    assert (rec.frames_played, rec.interrupted) == (len(x), False)
    assert_came_out(read_wav(tmp_path)("fast", 8000), x, len(x), 0)


def test_wav_sink_unwritable_directory_raises_sink_error_before_playing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    t0 = time.monotonic()
    with pytest.raises(SinkError, match="not-a-dir"):
        WavFileSink(blocker / "node").play(signal(1.0, 8000), 8000, label="x")
    assert time.monotonic() - t0 < 0.5


def test_portaudio_lists_the_alsa_default_device(tmp_path: Path) -> None:
    env, _ = alsa_capture_env(tmp_path)
    code = (
        "import sounddevice as sd; d = sd.query_devices(kind='output'); "
        "print(d['name'], sd.query_hostapis(d['hostapi'])['name'], sep='|')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "default|ALSA"


def test_sounddevice_sink_resamples_to_a_fixed_device_rate(tmp_path: Path) -> None:
    env, raw = alsa_capture_env(tmp_path)
    sink = ChildSounddeviceSink(env, tmp_path, samplerate=48000)
    try:
        x = signal(0.5, 16000)
        rec = sink.play(x, 16000, label="upsampled")
    finally:
        sink.close()
    assert (rec.sample_rate, rec.frames_played, rec.interrupted) == (16000, len(x), False)
    expected = np.clip(resample_poly(x, 3, 1), -1, 1).astype(np.float32)
    assert_came_out(read_raw(raw)("upsampled", 48000), expected, len(expected), 0)


def test_sounddevice_sink_mono_device(tmp_path: Path) -> None:
    env, raw = alsa_capture_env(tmp_path)
    sink = ChildSounddeviceSink(env, tmp_path, channels=1)
    try:
        x = signal(0.3, 48000)
        sink.play(x, 48000, label="mono")
    finally:
        sink.close()
    out = np.frombuffer(raw.read_bytes(), "<i2").reshape(-1, 1) * LSB
    assert_came_out(out, x, len(x), 0)


def test_stop_cuts_a_streamed_item_short(tmp_path: Path) -> None:
    # In process only: the sound card's child gets its blocks all at once. Both sinks read
    # whole items and blocks through the same reader, so the card's stop is covered above.
    x = signal(1.5, 16000)
    stop = threading.Event()

    def decoded() -> Iterator[NDArray[np.float32]]:
        for i, block in enumerate(np.array_split(x, 50)):
            if i == 20:  # an emergency falls due while the item is being decoded
                stop.set()
            yield block

    rec = WavFileSink(tmp_path).play(decoded(), 16000, label="cut", stop=stop)
    assert rec.interrupted
    assert 0 < rec.frames_played < len(x)
    assert_came_out(read_wav(tmp_path)("cut", 16000), x, rec.frames_played, 0)


def test_sounddevice_sink_unknown_device_raises_sink_error(tmp_path: Path) -> None:
    env, _ = alsa_capture_env(tmp_path)
    with pytest.raises(SinkError, match="no-such-card"):
        ChildSounddeviceSink(env, tmp_path, device="no-such-card")


@pytest.mark.parametrize(
    ("sr_in", "sr_out"), [(44100, 48000), (16000, 48000), (22050, 44100), (48000, 16000)]
)
def test_piecewise_resampling_equals_resampling_at_once(sr_in: int, sr_out: int) -> None:
    x = signal(0.7, sr_in)
    cuts = np.sort(np.random.default_rng(sr_in).integers(0, len(x), 30))
    pieces = list(resample_stream(np.split(x, cuts), sr_in, sr_out, step_s=0.05))
    assert len(pieces) > 10
    whole = np.clip(resample_poly(x, sr_out, sr_in), -1, 1)
    np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=0, atol=1e-5)


def test_make_sink(tmp_path: Path) -> None:
    sink = make_sink("wav", directory=str(tmp_path), realtime=False)
    assert isinstance(sink, WavFileSink)
    assert sink.directory == tmp_path
    with pytest.raises(ValueError, match="unknown audio sink"):
        make_sink("bluetooth")
