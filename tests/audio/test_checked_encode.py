"""The written file meets its targets: at Opus complexity 7 (the default) clean speech takes one
whole encode, the codec's loudness drift is corrected by the Ogg Opus header gain, and the
true peak of the decoded file never ends over the limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio.checked_encode import MAX_HEADER_GAIN_DB, _judge, _lifted_overshoot, header_gain
from audio.config import PipelineConfig
from audio.decode import decode_file
from audio.loudness import measure
from audio.pipeline import process_file
from audio.report import ProcessingReport
from tests.support.audio import write_wav

SR = 16000
TP_MAX = -1.01  # one report step under the default -1 dBTP limit


def _chain(src: Path, dst: Path, **settings: object) -> ProcessingReport:
    config = PipelineConfig(denoise=False).model_copy(update=settings)
    return process_file(src, dst, config)


@pytest.fixture(scope="module")
def speech_wav(speech16: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("checked") / "speech.wav"
    write_wav(str(path), speech16, SR)
    return path


def test_clean_speech_at_the_default_complexity_takes_one_whole_encode(
    speech_wav: Path, tmp_path: Path
) -> None:
    assert PipelineConfig().opus_complexity == 7
    # the premise: the first encode alone leaves the decoded file off the loudness target
    once = _chain(speech_wav, tmp_path / "once.ogg", max_encode_passes=1)
    assert once.output.integrated_lufs is not None
    assert abs(once.output.integrated_lufs + 16.0) > 0.15
    report = _chain(speech_wav, tmp_path / "out.ogg")
    # written, decoded and measured twice; the second pass only set the header's gain
    assert (report.encode_passes, report.whole_encodes) == (2, 1)
    assert 0 < abs(report.output_gain_db) <= MAX_HEADER_GAIN_DB
    # and the file as any decoder plays it is on target and under the true-peak limit
    out = decode_file(tmp_path / "out.ogg")
    stats = measure(out.samples, out.sample_rate)
    assert stats.integrated == pytest.approx(-16.0, abs=0.15)
    assert stats.true_peak_db <= -1.0
    # a player that ignores the header's gain still gets a file under the limit
    assert stats.true_peak_db - report.output_gain_db <= -1.0


def test_peaks_the_header_gain_lifts_over_the_limit_are_pulled_down_without_a_whole_encode(
    speech_wav: Path, tmp_path: Path
) -> None:
    close = {"codec_headroom_db": 0.3}  # the limiter this close to the limit: peaks near it
    once = _chain(speech_wav, tmp_path / "once.ogg", max_encode_passes=1, **close)
    assert once.output.integrated_lufs is not None
    assert once.output.true_peak_dbtp is not None
    # the premise: the gain that puts it on target would take its true peak over the limit
    assert once.output.true_peak_dbtp + (-16.0 - once.output.integrated_lufs) > -1.0
    report = _chain(speech_wav, tmp_path / "out.ogg", **close)
    assert report.whole_encodes == 1
    assert report.output_gain_db > 0
    out = decode_file(tmp_path / "out.ogg")
    stats = measure(out.samples, out.sample_rate)
    assert stats.integrated == pytest.approx(-16.0, abs=0.15)
    assert stats.true_peak_db <= -1.0


def test_the_peaks_a_header_gain_lifts_come_from_the_first_measurement_as_measuring_again(
    speech_wav: Path, tmp_path: Path
) -> None:
    """The overshoots of the file as it would decode with more header gain are those the
    measurement of the file gathered (reaching under the fix limit): the same places and
    values as decoding and measuring it again, so that second measurement is skipped."""
    config = PipelineConfig(denoise=False, codec_headroom_db=0.3)
    _chain(speech_wav, tmp_path / "once.ogg", max_encode_passes=1, codec_headroom_db=0.3)
    dst = tmp_path / "once.ogg"
    verdict = _judge(
        dst, config, limited=True, quick=False, last=False, passes=1, reach_db=MAX_HEADER_GAIN_DB
    )
    assert verdict.gathered is not None
    for step in (0.05, 0.4, MAX_HEADER_GAIN_DB):
        reused = _lifted_overshoot(dst, step, config, verdict.gathered)
        measured = _lifted_overshoot(dst, step, config, None)
        assert measured.over.size > 0  # places near the limit: the comparison means something
        np.testing.assert_array_equal(reused.over, measured.over)
        np.testing.assert_array_equal(reused.peaks, measured.peaks)
    # a lift beyond what was gathered is measured again, not taken from too little
    far = _lifted_overshoot(dst, MAX_HEADER_GAIN_DB + 0.5, config, verdict.gathered)
    again = _lifted_overshoot(dst, MAX_HEADER_GAIN_DB + 0.5, config, None)
    np.testing.assert_array_equal(far.over, again.over)


def _bursts() -> np.ndarray:
    """Half-second bursts of white noise: libopus overshoots the true peak on them."""
    rng = np.random.default_rng(1)
    t = np.arange(8 * SR) / SR
    on = np.sin(2 * np.pi * 2 * t) > 0.3
    return (0.3 * rng.standard_normal(t.size) * on).astype(np.float32)


def test_a_signal_the_codec_overshoots_at_complexity_7_ends_under_the_limit(
    tmp_path: Path,
) -> None:
    write_wav(str(tmp_path / "bursts.wav"), _bursts(), SR)
    loud = {"target_lufs": -12.0}
    report = _chain(tmp_path / "bursts.wav", tmp_path / "out.ogg", **loud)
    assert report.encode_passes >= 2  # the overshoots pulled down, encoded again
    out = decode_file(tmp_path / "out.ogg")
    assert measure(out.samples, out.sample_rate).true_peak_db <= -1.0


def test_when_the_passes_run_out_over_the_limit_the_file_is_made_quieter_not_shipped_over(
    tmp_path: Path,
) -> None:
    write_wav(str(tmp_path / "bursts.wav"), _bursts(), SR)
    loud = {"target_lufs": -12.0}
    once = _chain(tmp_path / "bursts.wav", tmp_path / "once.ogg", max_encode_passes=1, **loud)
    assert once.output.true_peak_dbtp is not None
    # the packets as encoded are over the limit (what a decoder gives without the gain) ...
    assert once.output.true_peak_dbtp - once.output_gain_db > -1.0
    # ... the header gain takes the excess off: under the limit, quieter, and the report says so
    assert once.output_gain_db < 0
    out = decode_file(tmp_path / "once.ogg")
    assert measure(out.samples, out.sample_rate).true_peak_db <= -1.0
    assert any("below the -12 LUFS target" in w for w in once.warnings)


@pytest.mark.parametrize(
    ("current", "error", "true_peak", "expected"),
    [
        (0.0, 0.23, -1.5, 0.23046875),  # quiet by 0.23 LU: raised by that, in 1/256 dB steps
        (0.5, -0.2, -1.2, 0.30078125),  # a gain set before is corrected from where it is
        (0.0, 0.4, -1.2, 0.3984375),  # it lifts peaks over the limit: the caller fixes those
        (0.0, MAX_HEADER_GAIN_DB + 0.1, -5.0, None),  # too far for players that ignore it
        (-0.5, 0.1, -1.3, None),  # without the gain the packets' own peak is over
        (0.0, -0.3, -1.5, -0.30078125),  # too loud: lowered
    ],
)
def test_when_the_header_gain_may_correct_the_loudness(
    current: float, error: float, true_peak: float, expected: float | None
) -> None:
    assert header_gain(current, error, true_peak, TP_MAX) == expected
