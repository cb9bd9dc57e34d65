"""The nightly backup job: a backup into ``backup_dir`` at ``backup_time`` (local), then the
retention; its outcome goes to the log and the audit log, and a failure never stops the
controller (it is reported, and tried again the next night)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from controller import audit
from controller.backup import retention
from controller.backup.make import Clock, local_now, make_backup
from controller.config import ControllerConfig
from controller.db import Database
from schedules import LOCAL

log = logging.getLogger(__name__)
JOB_ID = "backup"
ACTOR = "system"
# a controller that was down at backup time still takes that night's backup when it starts
MISFIRE_GRACE_S = 12 * 3600


def schedule(scheduler: BaseScheduler, config: ControllerConfig) -> None:
    """Add (or move) the nightly job; remove it when no ``backup_dir`` is set. A job already
    stored at the same time is left alone, with the run it may have missed."""
    if config.backup_dir is None:
        with contextlib.suppress(JobLookupError):
            scheduler.remove_job(JOB_ID)
        return
    trigger = CronTrigger(
        hour=config.backup_time.hour, minute=config.backup_time.minute, timezone=LOCAL
    )
    existing = scheduler.get_job(JOB_ID)
    if existing is not None and str(existing.trigger) == str(trigger):
        return  # kept as stored: a night missed while the controller was down still runs
    scheduler.add_job(
        "controller.jobs:nightly_backup",
        trigger,
        id=JOB_ID,
        replace_existing=True,
        misfire_grace_time=MISFIRE_GRACE_S,
    )


def run(config: ControllerConfig, db: Database, *, clock: Clock = local_now) -> bool:
    """One nightly backup and its retention; True when both succeeded."""
    dest = config.backup_dir
    if dest is None:
        return False
    try:
        made = make_backup(config, dest, clock=clock)
        pruned = retention.prune(
            dest, config.backup_keep_nightly, config.backup_keep_monthly, now=clock()
        )
    except Exception as exc:  # reported, never raised: the controller keeps running
        log.error("nightly backup into %s failed: %s", dest, exc)
        _audit(db, "backup.failed", str(dest), error=str(exc)[:2000])
        return False
    for name, why in made.manifest.skipped.items():
        log.warning("nightly backup %s: %s left out: %s", made.path.name, name, why)
    log.info(
        "nightly backup %s: %d files, %d bytes; %d old backups removed",
        made.path,
        len(made.manifest.files),
        made.size,
        len(pruned.removed),
    )
    _audit(
        db,
        "backup.done",
        str(made.path),
        files=len(made.manifest.files),
        bytes=made.size,
        skipped=made.manifest.skipped,
        removed=[path.name for path in pruned.removed],
    )
    return True


def _audit(db: Database, action: str, target: str, **detail: Any) -> None:
    try:
        with db.session() as s:
            audit.record(s, ACTOR, action, target[:200], **detail)
    except Exception:  # the database may be what failed; the log still has it
        log.exception("cannot write %s to the audit log", action)
