"""End to end: `loa process` on difficult speech inputs, measured on the decoded output file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from audio.cli import main
from audio.decode import decode_file
from audio.dynamics import compress
from audio.errors import EmptyAudioError
from audio.loudness import integrated_loudness, measure
from audio.pipeline import PipelineConfig, normalize, process, process_file
from audio.report import ProcessingReport
from tests.support.audio import write_wav

SR = 48000


def at_loudness(x: np.ndarray, sr: int, lufs: float) -> np.ndarray:
    return (x * np.float32(10 ** ((lufs - integrated_loudness(x, sr)) / 20))).astype(np.float32)


def make_input(kind: str, speech: np.ndarray) -> tuple[np.ndarray, int]:
    """Speech ``(n,)`` at 48 kHz turned into one of the hard cases; returns samples, rate."""
    if kind.startswith("lufs"):
        return at_loudness(speech, SR, float(kind[4:])), SR
    if kind == "clipped":  # phone AGC overdriven: 12 dB too hot, hard-clipped at full scale
        return np.clip(at_loudness(speech, SR, -8.0) * 2.5, -1.0, 1.0), SR
    if kind == "dc":
        return at_loudness(speech, SR, -26.0) + np.float32(0.25), SR
    if kind == "narrowband":  # 8 kHz phone call quality
        from audio.resample import resample

        return at_loudness(resample(speech, SR, 8000), 8000, -24.0), 8000
    if kind == "stereo-dead":
        x = at_loudness(speech, SR, -22.0)
        return np.stack([x, np.zeros_like(x)], axis=1), SR
    raise AssertionError(kind)


@pytest.fixture(scope="module")
def speech48(bulletin_wav: Path) -> np.ndarray:
    return decode_file(bulletin_wav).samples


def check_output(path: Path, target: float = -16.0) -> None:
    out = decode_file(path)
    stats = measure(out.samples, out.sample_rate)
    assert stats.integrated == pytest.approx(target, abs=0.3)
    assert stats.true_peak_db <= -1.0


@pytest.mark.parametrize(
    "kind",
    ["lufs-40", "lufs-30", "lufs-20", "lufs-10", "clipped", "dc", "narrowband", "stereo-dead"],
)
def test_loa_process_meets_loudness_and_true_peak(
    tmp_path: Path, speech48: np.ndarray, kind: str
) -> None:
    x, sr = make_input(kind, speech48)
    src = tmp_path / "in.wav"
    if kind == "clipped":
        write_wav(str(src), x, sr)
    else:
        scipy.io.wavfile.write(src, sr, x.astype(np.float32))  # float WAV keeps the DC intact
    dst = tmp_path / "out.ogg"
    report_path = tmp_path / "report.json"
    assert main([str(src), str(dst), "--report", str(report_path), "--quiet"]) == 0
    check_output(dst)
    report = ProcessingReport.model_validate_json(report_path.read_text())
    assert report.output.integrated_lufs == pytest.approx(-16.0, abs=0.3)
    assert report.output.true_peak_dbtp is not None
    assert report.output.true_peak_dbtp <= -1.0
    assert report.source is not None
    if kind == "clipped":
        assert report.input.clipped_share > 0.001
        assert any("clipped" in w for w in report.warnings)
    if kind == "stereo-dead":
        assert report.source.dropped_channels == [1]


@pytest.mark.parametrize(("ext", "target"), [("wav", -16.0), ("mp3", -18.0), ("opus", -20.0)])
def test_other_containers_and_targets(
    tmp_path: Path, bulletin_wav: Path, ext: str, target: float
) -> None:
    dst = tmp_path / f"out.{ext}"
    assert main([str(bulletin_wav), str(dst), "--target-lufs", str(target), "--quiet"]) == 0
    check_output(dst, target)


def test_report_contents(tmp_path: Path, speech48: np.ndarray) -> None:
    pause = np.zeros(3 * SR, dtype=np.float32)
    x = np.concatenate([pause, at_loudness(speech48, SR, -30.0), pause])
    x += np.random.default_rng(0).standard_normal(x.size).astype(np.float32) * 1e-3
    src = tmp_path / "in.wav"
    write_wav(str(src), x, SR)
    report = process_file(src, tmp_path / "out.ogg")
    data = json.loads(report.model_dump_json())
    for key in ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "noise_floor_dbfs"):
        assert key in data["input"]
        assert key in data["output"]
    assert report.input.integrated_lufs == pytest.approx(-30.0, abs=0.5)
    assert report.input.noise_floor_dbfs == pytest.approx(-60.0, abs=3.0)
    assert report.input.snr_db > 15
    # 3 s of added pause + the 0.5 s lead-in of the material, minus the 0.3 s pad
    assert report.trimmed_start_s == pytest.approx(3.2, abs=0.15)
    assert 2.7 < report.trimmed_end_s < 4.5
    trimmed = report.trimmed_start_s + report.trimmed_end_s
    assert report.output.duration_s == pytest.approx(x.size / SR - trimmed, abs=0.05)
    assert report.steps[:2] == ["highpass", "denoise"]
    assert report.encode_passes >= 1


def test_steps_can_be_switched_off(speech16: np.ndarray) -> None:
    config = PipelineConfig(
        highpass=False, denoise=False, trim=False, level=False, compress=False, limit=False
    )
    y, rate, report = process(speech16, 16000, config)
    assert rate == 16000
    assert y.dtype == np.float32
    assert y.ndim == 1
    assert report.steps == ["normalize"]
    assert integrated_loudness(y, rate) == pytest.approx(-16.0, abs=0.05)
    assert y.size == speech16.size


def test_in_memory_process_meets_targets(speech16: np.ndarray) -> None:
    y, rate, report = process(speech16 * np.float32(0.05), 16000)
    stats = measure(y, rate)
    assert stats.integrated == pytest.approx(-16.0, abs=0.1)
    assert stats.true_peak_db <= -2.0 + 1e-3  # lossy headroom kept in memory
    assert report.gain_db is not None
    assert report.gain_db > 20


def test_silence_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "silence.wav"
    write_wav(str(src), np.zeros(SR * 5, dtype=np.float32), SR)
    assert main([str(src), str(tmp_path / "out.ogg"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "silent" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.ogg").exists()
    with pytest.raises(EmptyAudioError):
        process(np.zeros(SR, dtype=np.float32), SR)


def test_shorter_than_one_block(tmp_path: Path, speech48: np.ndarray) -> None:
    start = int(np.argmax(np.abs(speech48) > 0.05))
    clip = at_loudness(speech48[start : start + int(0.3 * SR)], SR, -25.0)
    src = tmp_path / "short.wav"
    write_wav(str(src), clip, SR)
    dst = tmp_path / "short.ogg"
    assert main([str(src), str(dst), "--quiet"]) == 0
    out = decode_file(dst)
    assert measure(out.samples, out.sample_rate).true_peak_db <= -1.0
    with pytest.raises(EmptyAudioError, match="too short"):
        process(clip[:100], SR)


def test_nan_and_inf_samples(tmp_path: Path, speech48: np.ndarray) -> None:
    x = at_loudness(speech48, SR, -23.0)
    x[1000:1100] = np.nan
    x[5000] = np.inf
    src = tmp_path / "nan.wav"
    scipy.io.wavfile.write(src, SR, x)
    dst = tmp_path / "out.ogg"
    report_path = tmp_path / "r.json"
    assert main([str(src), str(dst), "--report", str(report_path), "--quiet"]) == 0
    check_output(dst)
    report = json.loads(report_path.read_text())
    assert report["source"]["nonfinite_samples"] == 101
    y, _, _ = process(x, SR)
    assert np.isfinite(y).all()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.m4a", b"", "empty"),
        ("notes.mp3", b"just some text\n" * 50, "not a readable audio file"),
    ],
)
def test_unreadable_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, message: str
) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    assert main([str(src), str(tmp_path / "out.ogg")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_arguments_exit_2(tmp_path: Path, bulletin_wav: Path) -> None:
    assert main([str(bulletin_wav), str(tmp_path / "out.flac"), "--quiet"]) == 2
    assert main([str(tmp_path / "missing.wav"), str(tmp_path / "out.ogg")]) == 2
    assert main([str(bulletin_wav), str(tmp_path / "o.ogg"), "--target-lufs", "3"]) == 2
    assert main([str(bulletin_wav), str(tmp_path / "o.ogg"), "--opus-complexity", "11"]) == 2
    assert not (tmp_path / "o.ogg").exists()
    assert main([]) == 2


def test_plot_is_written(tmp_path: Path, bulletin_wav: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "plot.png"
    assert main([str(bulletin_wav), str(tmp_path / "o.ogg"), "--plot", str(png), "--quiet"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_browser_recording_of_clicks_says_it_missed_the_target(tmp_path: Path) -> None:
    """Chromium's fake microphone (52 KB WebM): clicks over full scale between stretches of
    exact zeros. The denoiser takes what is left for noise, so little can be raised: the
    output stays finite and within the peak limit, and the report says the target was missed."""
    src = Path(__file__).parent / "data" / "chromium-fake-mic.webm"
    dst, report_path = tmp_path / "out.ogg", tmp_path / "r.json"
    assert main([str(src), str(dst), "--report", str(report_path), "--quiet"]) == 0
    out = decode_file(dst)
    assert np.isfinite(out.samples).all()
    after = measure(out.samples, out.sample_rate)
    assert after.true_peak_db <= -1.0
    report = json.loads(report_path.read_text())
    on_target = abs(after.integrated - -16.0) <= 1.0
    assert on_target or any("below the -16 LUFS target" in w for w in report["warnings"])


def test_the_gain_search_stops_at_a_sane_gain_when_the_target_is_out_of_reach() -> None:
    """Sparse clicks cannot reach -16 LUFS under a -1 dBTP ceiling at any gain; an unbounded
    search climbed 12 dB per step towards float32 overflow."""
    x = np.zeros(4 * SR, dtype=np.float32)
    x[:: SR // 2] = 0.5  # one-sample clicks, twice a second
    loud = integrated_loudness(x, SR)
    y, gain = normalize(x, SR, target_lufs=-16.0, ceiling_db=-1.0)
    assert gain <= -16.0 - loud + 24.0  # more limiting than 24 dB ruins any speech
    assert np.isfinite(y).all()


@pytest.mark.parametrize("ceiling", [-2.0, -3.0])
@pytest.mark.parametrize("level_db", [-30.0, -6.0])
def test_an_unchecked_gain_search_still_lands_on_the_target(
    speech16: np.ndarray, ceiling: float, level_db: float
) -> None:
    """Before a lossy encode the limited result is not measured again: the search's prediction
    of the limited loudness must itself be on target (the file is measured after decoding)."""
    sr = 16000
    x = compress(speech16 * np.float32(10 ** (level_db / 20)), sr, threshold_db=level_db - 20)
    y, _ = normalize(x, sr, target_lufs=-16.0, ceiling_db=ceiling, exact_ceiling=False)
    assert integrated_loudness(y, sr) == pytest.approx(-16.0, abs=0.05)  # measured: 0.005
