"""Draft bulletins made in the browser: the processed audio plus what the broadcaster needs to
judge it — the uploaded original, a copy of it a browser can play, and both waveforms.

Everything about one draft lives in ``data_dir/originals/<bulletin id>/``: ``original.<ext>``
(the bytes as uploaded, kept so "before" can be heard even for AMR/3GP), ``before.ogg`` (the
original decoded and re-encoded as Opus without any processing: browsers do not play AMR/3GP)
and ``waveform.json`` (peaks of before and after for the server-drawn waveforms).
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from controller.broadcast.bulletins import new_bulletin
from controller.broadcast.media import Recording, audio_for, save_upload
from controller.broadcast.titles import resolved_title
from controller.config import ControllerConfig, DenoiseChoice
from controller.models import Bulletin, User, now

WAVEFORM_POINTS = 240
BEFORE_BITRATE = 48_000  # the unprocessed copy is for listening: keep it close to the upload


def draft_dir(config: ControllerConfig, bulletin_id: str) -> Path:
    return config.data_dir / "originals" / bulletin_id


def make_draft(
    s: Session,
    config: ControllerConfig,
    user: User,
    *,
    recording: Recording | None,
    text: str,
    voice: str,
    title: str,
    denoise: DenoiseChoice | None = None,
) -> Bulletin:
    """Run the real pipeline on a recording (or speak ``text``) and keep it as a draft.
    Unusable input (a bad title included) raises its DomainError and keeps nothing."""
    resolved_title(title, "" if recording is not None else text)  # before any work
    encoded, report, name = audio_for(
        config, recording, text, voice, emergency=False, denoise=denoise
    )
    bulletin = new_bulletin(
        s,
        config,
        user,
        encoded=encoded,
        report=report,
        title=resolved_title(title, text),
        original_filename=name,
        valid_until=now() + timedelta(minutes=config.default_valid_minutes),
    )
    bulletin.status = "draft"
    bulletin.text = text.strip() if recording is None else ""
    folder = draft_dir(config, bulletin.id)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if recording is not None:
            recording.file.seek(0)  # the pipeline read it once; keep the very bytes sent
            saved = save_upload(recording.file, name, config.max_upload_bytes, folder)
            original = saved.rename(folder / f"original{saved.suffix}")
            bulletin.original_path = str(original.relative_to(config.data_dir))
        write_waveforms(config, bulletin)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return bulletin


def write_waveforms(config: ControllerConfig, bulletin: Bulletin) -> dict[str, list[float]]:
    """Decode after (and before, writing its playable copy) once and keep both waveforms."""
    from audio.decode import decode_file
    from audio.encode import write_audio

    folder = draft_dir(config, bulletin.id)
    # one decoded recording at a time (each is 35 MB for 3 minutes at 48 kHz)
    after = decode_file(after_path(config, bulletin), max_seconds=config.max_audio_seconds)
    shapes = {"after": peaks(after.samples)}
    del after
    if bulletin.original_path:
        before = decode_file(
            config.data_dir / bulletin.original_path, max_seconds=config.max_audio_seconds
        )
        write_audio(
            folder / "before.ogg", before.samples, before.sample_rate, bitrate=BEFORE_BITRATE
        )
        shapes["before"] = peaks(before.samples)
    (folder / "waveform.json").write_text(json.dumps(shapes))
    return shapes


def waveforms(config: ControllerConfig, bulletin: Bulletin) -> dict[str, list[float]]:
    """Before/after peaks; empty for bulletins not made as drafts here (API, alerts)."""
    path = draft_dir(config, bulletin.id) / "waveform.json"
    if not path.exists():
        return {}
    shapes: dict[str, list[float]] = json.loads(path.read_text())
    return shapes


def after_path(config: ControllerConfig, bulletin: Bulletin) -> Path:
    """The processed audio as the nodes get it (see controller.broadcast.ingest.store_audio)."""
    return config.audio_dir / f"{bulletin.audio_sha256}.ogg"


def before_path(config: ControllerConfig, bulletin: Bulletin) -> Path | None:
    path = draft_dir(config, bulletin.id) / "before.ogg"
    return path if bulletin.original_path and path.exists() else None


def peaks(x: np.ndarray, points: int = WAVEFORM_POINTS) -> list[float]:
    """The largest magnitude in each of ``points`` equal spans of mono ``x`` (full scale 1.0)."""
    if x.size == 0:
        return [0.0] * points
    edges = np.linspace(0, x.size, points + 1).astype(np.int64)
    magnitude = np.abs(x)
    tops = np.maximum.reduceat(magnitude, np.minimum(edges[:-1], x.size - 1))
    return [round(min(float(v), 1.0), 3) for v in tops]


def waveform_path(values: list[float], height: int = 100) -> str:
    """SVG path data: one vertical stroke per peak, centred, on a ``len(values)`` × ``height``
    canvas (scaled by the SVG's viewBox, so the page needs no script to draw it)."""
    middle = height / 2
    strokes = []
    for i, value in enumerate(values):
        half = max(value * (middle - 1), 0.4)
        strokes.append(f"M{i + 0.5} {middle - half:.1f}V{middle + half:.1f}")
    return "".join(strokes)
