"""The audio pipeline's report (audio/report.py ``ProcessingReport``) in plain words for a
broadcaster: what was done to the recording and, when it was poor, how to record better."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.web.i18n import translate

MIN_TRIM_S = 0.1  # shorter cuts are not worth mentioning
CLEAN_SNR_DB = 40.0  # a recording this clean had no noise worth removing
NOISY_SNR_DB = 15.0  # still this noisy after processing: say so
CLIPPED_SHARE = 0.001  # the pipeline warns from here too
QUIET_BOOST_DB = 20.0
TARGET_MISS_LU = 1.0  # audio/report.py remarks on a miss from here too
VOICES = {"vi": "words.voice.north", "vi-vn-x-central": "words.voice.central"}


def number(value: float, lang: str, digits: int = 1) -> str:
    """``2,1`` in Vietnamese, ``2.1`` in English; a true minus sign; no ``,0`` tail."""
    text = f"{abs(value):.{digits}f}"
    if digits and text.endswith("0" * digits):
        text = text[: -digits - 1]
    if lang == "vi":
        text = text.replace(".", ",")
    return ("−" if value < 0 and text.strip("0,.") else "") + text


def spoken_duration(seconds: float, lang: str) -> str:
    whole = round(seconds)
    if whole < 60:
        return translate("words.seconds", lang, s=number(seconds, lang))
    return translate("words.minutes_seconds", lang, m=whole // 60, s=whole % 60)


def _section(report: dict[str, Any], name: str) -> dict[str, Any]:
    value = report.get(name)
    return value if isinstance(value, dict) else {}


def _float(section: dict[str, Any], name: str) -> float | None:
    value = section.get(name)
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class Words:
    """``plain``: for the broadcaster, no units; ``technical``: the figures, for the
    "Chi tiết kỹ thuật" fold a technician opens."""

    plain: list[str]
    technical: list[str]


def describe(report: dict[str, Any], lang: str) -> Words:
    """One sentence per thing worth saying, in ``lang``; advice comes last."""
    before, after = _section(report, "input"), _section(report, "output")
    lines: list[str] = []
    tts = _section(report, "tts")
    if tts:
        voice = translate(VOICES.get(str(tts.get("voice")), "words.voice.south"), lang)
        lines.append(translate("words.tts", lang, voice=voice))
    if (length := _float(after, "duration_s")) is not None:
        lines.append(translate("words.duration", lang, duration=spoken_duration(length, lang)))
    for key in ("trimmed_start_s", "trimmed_end_s"):
        cut = report.get(key)
        if isinstance(cut, int | float) and cut >= MIN_TRIM_S:
            lines.append(translate(f"words.{key}", lang, s=number(cut, lang)))
    lines.extend(_noise(report, before, report.get("steps") or [], lang))
    lines.extend(_loudness(before, after, lang))
    lines.extend(_advice(report, before, after, lang))
    return Words(lines, technical(report, lang))


def _noise(
    report: dict[str, Any], before: dict[str, Any], steps: list[str], lang: str
) -> list[str]:
    """What the denoiser did: its own plain words (``done``, Vietnamese and English, from
    :func:`audio.report.done_words`), the general noise sentence in place of ``noise``."""
    if "denoise" not in steps:
        return []
    done = [d for d in report.get("done") or [] if isinstance(d, dict)]
    if not done:  # reports made before the denoiser said what it did
        return _noise_reduced(before, lang)
    lines: list[str] = []
    for item in done:
        if item.get("code") == "noise":
            lines.extend(_noise_reduced(before, lang))
        elif isinstance(text := item.get("vi" if lang == "vi" else "en"), str):
            lines.append(text)
    return lines


def _noise_reduced(before: dict[str, Any], lang: str) -> list[str]:
    snr_in = _float(before, "snr_db")
    if snr_in is not None and snr_in >= CLEAN_SNR_DB:
        return [translate("words.clean", lang)]
    return [translate("words.denoised", lang)]


def _loudness(before: dict[str, Any], after: dict[str, Any], lang: str) -> list[str]:
    """The change a listener hears: output minus input loudness. (The report's ``gain_db`` is
    only the last stage's gain, after levelling and compression moved the level already.)"""
    lufs, lufs_in = _float(after, "integrated_lufs"), _float(before, "integrated_lufs")
    if lufs is None:
        return []
    change = lufs - lufs_in if lufs_in is not None else 0.0
    if abs(change) >= 1:
        return [translate("words.louder" if change > 0 else "words.quieter", lang)]
    return [translate("words.loudness", lang)]


def _advice(
    report: dict[str, Any], before: dict[str, Any], after: dict[str, Any], lang: str
) -> list[str]:
    lines = []
    skipped = _float(_section(report, "source"), "skipped_share")
    if skipped:
        lines.append(translate("words.skipped", lang, pct=number(100 * skipped, lang)))
    clipped = _float(before, "clipped_share")
    if clipped is not None and clipped >= CLIPPED_SHARE:
        lines.append(translate("words.clipped", lang))
    lufs_in, lufs_out = _float(before, "integrated_lufs"), _float(after, "integrated_lufs")
    target = _float(report, "target_lufs")
    missed = lufs_out - target if lufs_out is not None and target is not None else 0.0
    raised = lufs_out - lufs_in if lufs_in is not None and lufs_out is not None else 0.0
    if raised > QUIET_BOOST_DB or missed < -TARGET_MISS_LU:
        lines.append(translate("words.too_quiet", lang))
    elif missed > TARGET_MISS_LU:
        lines.append(translate("words.too_loud", lang))
    snr_out = _float(after, "snr_db")
    if snr_out is not None and snr_out < NOISY_SNR_DB:
        lines.append(translate("words.still_noisy", lang))
    return lines


def technical(report: dict[str, Any], lang: str) -> list[str]:
    """The measurements behind the plain words, with their units."""
    before, after = _section(report, "input"), _section(report, "output")
    lines = []
    tts = _section(report, "tts")
    if tts:
        lines.append(translate("words.tech.engine", lang, engine=tts.get("engine", "?")))
    for name, section in (("in", before), ("out", after)):
        lufs, peak = _float(section, "integrated_lufs"), _float(section, "true_peak_dbtp")
        snr = _float(section, "snr_db")
        if lufs is not None:
            lines.append(
                translate(
                    f"words.tech.{name}",
                    lang,
                    lufs=number(lufs, lang),
                    peak=number(peak, lang) if peak is not None else "–",
                    snr=number(snr, lang, 0) if snr is not None else "–",
                )
            )
    if (target := _float(report, "target_lufs")) is not None:
        lines.append(translate("words.tech.target", lang, lufs=number(target, lang)))
    lines.extend(str(w) for w in report.get("warnings") or [])
    return lines
