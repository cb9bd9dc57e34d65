"""Creating a bulletin and queueing its plays, on a real database with real processed audio."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from audio.encode import write_audio
from controller.broadcast.audio_report import AudioReport
from controller.broadcast.bulletins import Airing, new_bulletin, send
from controller.broadcast.ingest import process_upload
from controller.config import ControllerConfig
from controller.delivery.state import PROGRESS
from controller.models import AudioFile, AuditEntry, Bulletin, Delivery, now
from protocol.messages import PlayCommand
from tests.controller.commune import Commune

SR = 48_000


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AudioReport]:
    """One real recording through the controller's own pipeline: 2 s of a voice-band tone."""
    root = tmp_path_factory.mktemp("bulletin-audio")
    t = np.arange(2 * SR, dtype=np.float32) / SR
    tone = (0.1 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )
    src = root / "giong-noi.wav"
    write_audio(src, tone, SR)
    encoded, report = process_upload(ControllerConfig(data_dir=root / "data"), src)
    return encoded, report


def fresh_copy(processed: tuple[Path, AudioReport], into: Path) -> Path:
    encoded, _ = processed
    copy = into / encoded.name
    shutil.copyfile(encoded, copy)
    return copy


def make(commune: Commune, processed, tmp_path: Path, title: str) -> Bulletin:
    _, report = processed
    encoded = fresh_copy(processed, tmp_path)
    with commune.db.session() as s:
        bulletin = new_bulletin(
            s,
            commune.config,
            commune.user("phatthanh"),
            encoded=encoded,
            report=report,
            title=title,
            valid_until=now() + timedelta(hours=1),
        )
        s.expunge(bulletin)
    assert not encoded.exists()  # consumed: moved into the store or dropped as a duplicate
    return bulletin


def test_the_same_audio_is_stored_once_for_two_bulletins(commune, processed, tmp_path):
    first = make(commune, processed, tmp_path, "Lịch tiêm phòng")
    second = make(commune, processed, tmp_path, "Lịch tiêm phòng (nhắc lại)")
    assert first.audio_sha256 == second.audio_sha256
    assert (commune.config.audio_dir / f"{first.audio_sha256}.ogg").exists()
    _, report = processed
    with commune.db.session() as s:
        rows = s.scalars(select(AudioFile).where(AudioFile.sha256 == first.audio_sha256)).all()
        assert len(rows) == 1
        assert rows[0].duration_s == pytest.approx(report.duration_s)
        stored = s.get_one(Bulletin, first.id).processing_report
    assert stored == report.stored()


def test_send_queues_one_signed_play_per_target_and_airing_and_audits_it(
    commune, dispatcher, processed, tmp_path
):
    bulletin = make(commune, processed, tmp_path, "Cắt điện")
    targets = commune.nodes_in("thon-dong")
    at = now() + timedelta(minutes=30)
    airings = [Airing(f"{bulletin.id}-1", None), Airing(f"{bulletin.id}-2", at)]
    with commune.db.session() as s:
        send(
            s,
            dispatcher,
            commune.user("pheduyet"),
            s.get_one(Bulletin, bulletin.id),
            targets=targets,
            airings=airings,
        )

    commands = commune.commands()
    assert sorted(node for node, _ in commands) == sorted(targets * 2)  # nobody else
    plays = [body.command for _, body in commands]
    assert all(isinstance(p, PlayCommand) and p.bulletin_id == bulletin.id for p in plays)
    assert sorted(p.play_id for p in plays if isinstance(p, PlayCommand)) == sorted(
        [a.play_id for a in airings] * len(targets)
    )
    with commune.db.session() as s:
        deliveries = s.scalars(select(Delivery).where(Delivery.bulletin_id == bulletin.id)).all()
        assert len(deliveries) == 2 * len(targets)
        assert {d.status for d in deliveries} <= set(PROGRESS)
        entry = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "bulletin.send", AuditEntry.target == bulletin.id
            )
        ).one()
        assert entry.actor == "pheduyet"
        assert sorted(entry.detail["targets"]) == sorted(targets)
        assert entry.detail["airings"] == [a.play_id for a in airings]


def test_send_without_airings_plays_once_at_the_bulletins_own_time(
    commune, dispatcher, processed, tmp_path
):
    bulletin = make(commune, processed, tmp_path, "Họp thôn")
    (node,) = commune.nodes_in("thon-bac")
    with commune.db.session() as s:
        send(
            s,
            dispatcher,
            commune.user("pheduyet"),
            s.get_one(Bulletin, bulletin.id),
            targets=[node],
        )
    ((target, body),) = commune.commands()
    assert target == node
    assert isinstance(body.command, PlayCommand)
    assert body.command.play_id == bulletin.id
    assert body.command.play_at is None
