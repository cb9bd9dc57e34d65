"""The controller's timed jobs, run by APScheduler with its job store in the controller's own
database, so they survive a restart (a missed run is coalesced into one run at start-up).

Jobs are stored by reference (``controller.jobs:<name>``) with plain arguments; they find the
running controller's database and dispatcher in ``_running``, set when the scheduler starts.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from controller import notifications, programme
from controller.backup import nightly
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery import history
from controller.delivery.dispatcher import Dispatcher
from controller.models import Alert, CapMessage, now
from schedules import LOCAL

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"
# How soon a phone hears of a notification; a pass with nothing to send is one small query.
PUSH_INTERVAL_S = 15


@dataclass
class Running:
    config: ControllerConfig
    db: Database
    dispatcher: Dispatcher


_running: Running | None = None


def running() -> Running:
    if _running is None:
        raise RuntimeError("the controller's scheduler is not running")
    return _running


def start_scheduler(
    config: ControllerConfig, db: Database, dispatcher: Dispatcher
) -> BackgroundScheduler:
    global _running  # noqa: PLW0603 -- the one hand-off point between APScheduler and the app
    _running = Running(config, db, dispatcher)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOB_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=LOCAL,
    )
    scheduler.start()
    scheduler.add_job(
        "controller.jobs:housekeeping",
        "interval",
        minutes=5,
        id="housekeeping",
        replace_existing=True,
        next_run_time=now(),
    )
    scheduler.add_job(
        "controller.jobs:materialise",
        "interval",
        minutes=5,
        id="materialise",
        replace_existing=True,
        next_run_time=now(),
    )
    scheduler.add_job(
        "controller.jobs:push_notifications",
        "interval",
        seconds=PUSH_INTERVAL_S,
        id="push_notifications",
        replace_existing=True,
        next_run_time=now(),
    )
    nightly.schedule(scheduler, config)
    for job in scheduler.get_jobs():  # feeds removed from the config stop being polled
        if job.id.startswith("cap:") and job.args[0] not in config.cap_feeds:
            job.remove()
    for url in config.cap_feeds:
        scheduler.add_job(
            "controller.jobs:poll_cap_feed",
            "interval",
            seconds=config.cap_poll_interval_s,
            args=[url],
            id=f"cap:{url}",
            replace_existing=True,
            next_run_time=now(),
        )
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    global _running  # noqa: PLW0603
    scheduler.shutdown(wait=True)
    _running = None


def housekeeping() -> None:
    """Expire alerts past their time, forget lapsed web sessions, old login and enrolment
    failures and public subscription requests, delete unsent drafts older than
    ``draft_expiry_days`` and the node events and settled commands older than
    ``history_retention_days``."""
    from controller.broadcast.expiry import expire_drafts
    from controller.emergency import subscriptions
    from controller.nodes import enrolment
    from controller.web import sessions

    ctx = running()
    with ctx.db.session() as s:
        sessions.prune(s, ctx.config)
        enrolment.prune(s)
        subscriptions.prune(s)
        notifications.prune(s)
        for alert in s.scalars(
            select(Alert).where(Alert.state.in_(("proposed", "active")), Alert.expires_at < now())
        ):
            alert.state = "expired"
    with ctx.db.session() as s:
        if expired := expire_drafts(s, ctx.config):
            log.info(
                "drafts: %d unsent drafts older than %d days deleted",
                len(expired),
                ctx.config.draft_expiry_days,
            )
    pruned = history.prune(ctx.db, timedelta(days=ctx.config.history_retention_days))
    if pruned.commands or pruned.events:
        log.info("history: %d settled commands, %d node events pruned", *astuple(pruned))
    tmp = ctx.config.data_dir / "tmp"
    if tmp.exists():
        cutoff = now().timestamp() - 3600
        for leftover in tmp.iterdir():  # uploads of requests that died mid-way
            # folders (the emergency form's prepared alerts) keep their own shorter lifetime
            if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)


def push_notifications() -> None:
    """Send new notifications as Web Push to the browsers that asked (controller.notifications)."""
    from controller.notifications import push

    ctx = running()
    done = push.send_pending(ctx.db, ctx.config)
    if done.sent or done.failed or done.removed:
        log.info(
            "web push: %d sent, %d failed, %d subscriptions gone",
            done.sent,
            done.failed,
            len(done.removed),
        )


def materialise() -> None:
    """Send every node the next 48 hours of its programme, with its audio, ahead of time."""

    ctx = running()
    with ctx.db.session() as s:
        queued = programme.materialise(
            s, ctx.dispatcher, timedelta(seconds=ctx.config.late_grace_s)
        )
    if queued:
        log.info("programme: %d plays queued for the next 48 hours", queued)


def nightly_backup() -> None:
    """The nightly backup into ``backup_dir`` and its retention (see controller.backup)."""
    ctx = running()
    nightly.run(ctx.config, ctx.db)


def poll_cap_feed(url: str) -> None:
    """Fetch one configured feed and ingest what is new (duplicates are dropped by key).

    A linked document is fetched only while no stored message came from its link: a feed
    keeps listing what it already announced, and fetching it all again on every poll would
    cost a slow link up to 50 requests a minute."""
    from controller.emergency import cap_ingest
    from controller.emergency.cap import CapError, fetch, fetch_feed

    ctx = running()
    try:
        items = fetch_feed(url)
    except Exception as exc:  # an unreachable feed is logged and tried again next time
        log.warning("CAP feed %s: %s", url, exc)
        return
    documents: list[tuple[bytes, str | None]] = [(xml, None) for xml in items.alerts]
    with ctx.db.session() as s:
        known = set(s.scalars(select(CapMessage.link).where(CapMessage.link.in_(items.links))))
    for link in items.links:
        if link in known:
            continue
        try:
            documents.append((fetch(link), link))
        except Exception as exc:
            log.warning("CAP document %s: %s", link, exc)
    for xml, origin in documents:
        try:
            with ctx.db.session() as s:
                cap_ingest.ingest(
                    s, ctx.config, ctx.dispatcher, xml, poster=None, source=url, link=origin
                )
        except CapError as exc:
            where = origin or "inline"
            log.warning("CAP feed %s gave an invalid document (%s): %s", url, where, exc)
