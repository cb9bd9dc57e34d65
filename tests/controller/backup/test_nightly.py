"""The nightly job: scheduled at the configured local time only when a folder is set; a
backup and its retention, audited; a failure audited and logged, never raised."""

from __future__ import annotations

import logging
from datetime import datetime, time
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.util import ref_to_obj
from sqlalchemy import select

from controller import jobs
from controller.backup import nightly
from controller.config import ControllerConfig
from controller.delivery.dispatcher import Dispatcher
from controller.models import AuditEntry
from controller.web.pages_admin import action_label
from schedules import LOCAL
from tests.controller.backup.test_retention import at
from tests.controller.commune import Commune


def audited(data: Commune) -> list[AuditEntry]:
    with data.db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action.like("backup.%"))))


def test_a_nightly_run_backs_up_prunes_and_audits(data: Commune, tmp_path: Path):
    dest = tmp_path / "nightly"
    config = data.config.model_copy(
        update={"backup_dir": dest, "backup_keep_nightly": 2, "backup_keep_monthly": 1}
    )
    for d in (1, 2, 3):
        assert nightly.run(config, data.db, clock=at(datetime(2026, 12, d, 2, 30, tzinfo=LOCAL)))
    names = sorted(p.name for p in dest.iterdir())
    assert names == [
        "loalang-20261201-023000",
        "loalang-20261202-023000",
        "loalang-20261203-023000",
    ]
    assert nightly.run(config, data.db, clock=lambda: datetime(2026, 12, 4, 2, 30, tzinfo=LOCAL))
    names = sorted(p.name for p in dest.iterdir())
    assert names == [
        "loalang-20261201-023000",
        "loalang-20261203-023000",
        "loalang-20261204-023000",
    ]
    entries = audited(data)
    assert [e.action for e in entries] == ["backup.done"] * 4
    last = entries[-1]
    assert (last.actor, last.target) == ("system", str(dest / "loalang-20261204-023000"))
    assert last.detail["removed"] == ["loalang-20261202-023000"]
    assert last.detail["files"] > 5
    assert last.detail["skipped"] == {}


def test_a_failed_night_is_reported_and_the_controller_carries_on(
    data: Commune, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    config = data.config.model_copy(update={"backup_dir": blocked})
    with caplog.at_level(logging.ERROR, logger="controller.backup.nightly"):
        assert nightly.run(config, data.db) is False
    assert f"nightly backup into {blocked} failed" in caplog.text
    [entry] = audited(data)
    assert (entry.action, entry.target) == ("backup.failed", str(blocked))
    assert "is not a directory" in entry.detail["error"]
    assert action_label("backup.failed", "vi") == "Sao lưu hằng đêm thất bại"  # the audit page


def test_the_job_runs_at_the_configured_local_time_and_only_with_a_folder(tmp_path: Path):
    scheduler = BackgroundScheduler(timezone=LOCAL)
    scheduler.start(paused=True)
    try:
        config = ControllerConfig(data_dir=tmp_path)
        nightly.schedule(scheduler, config)
        assert scheduler.get_job(nightly.JOB_ID) is None  # off unless a folder is set
        on = config.model_copy(update={"backup_dir": tmp_path / "b", "backup_time": time(3, 15)})
        nightly.schedule(scheduler, on)
        job = scheduler.get_job(nightly.JOB_ID)
        assert job is not None
        assert isinstance(job.trigger, CronTrigger)
        start = datetime(2026, 12, 6, 12, 0, tzinfo=LOCAL)
        assert job.trigger.get_next_fire_time(None, start) == datetime(
            2026, 12, 7, 3, 15, tzinfo=LOCAL
        )
        missed = datetime(2026, 12, 6, 3, 15, tzinfo=LOCAL)  # while the controller was down
        job.modify(next_run_time=missed)
        nightly.schedule(scheduler, on)  # the controller starts again, same settings
        job = scheduler.get_job(nightly.JOB_ID)
        assert job is not None
        assert job.next_run_time == missed  # so the missed night still runs now
        nightly.schedule(scheduler, on.model_copy(update={"backup_time": time(4, 0)}))
        job = scheduler.get_job(nightly.JOB_ID)
        assert job is not None
        assert (job.next_run_time.hour, job.next_run_time.minute) == (4, 0)
        nightly.schedule(scheduler, config)  # the folder removed from the config: job gone
        assert scheduler.get_job(nightly.JOB_ID) is None
    finally:
        scheduler.shutdown(wait=False)


def test_backup_settings_come_from_the_environment_too():
    config = ControllerConfig.load(
        None,
        {
            "LOA_BACKUP_DIR": "/srv/backup",
            "LOA_BACKUP_TIME": "01:45",
            "LOA_BACKUP_KEEP_NIGHTLY": "14",
            "LOA_BACKUP_KEEP_MONTHLY": "6",
        },
    )
    assert config.backup_dir == Path("/srv/backup")
    assert config.backup_time == time(1, 45)
    assert (config.backup_keep_nightly, config.backup_keep_monthly) == (14, 6)
    with pytest.raises(SystemExit, match="LOA_BACKUP_TIME"):
        ControllerConfig.load(None, {"LOA_BACKUP_TIME": "25:00"})
    assert ControllerConfig.load(None, {}).backup_dir is None


def test_the_stored_job_reference_runs_a_backup_in_the_running_controller(
    data: Commune, dispatcher: Dispatcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = data.config.model_copy(update={"backup_dir": tmp_path / "nightly"})
    scheduler = BackgroundScheduler(timezone=LOCAL)
    scheduler.start(paused=True)
    try:
        nightly.schedule(scheduler, config)
        job = scheduler.get_job(nightly.JOB_ID)
        assert job is not None
        monkeypatch.setattr(jobs, "_running", jobs.Running(config, data.db, dispatcher))
        ref_to_obj(job.func_ref)()  # what APScheduler calls at 02:30
    finally:
        scheduler.shutdown(wait=False)
    [made] = list((tmp_path / "nightly").iterdir())
    assert (made / "manifest.json").is_file()
    assert [e.action for e in audited(data)] == ["backup.done"]
