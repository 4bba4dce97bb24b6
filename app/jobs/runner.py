"""Running the jobs: each run in its own app context, by one process at a time, one log line.

On PostgreSQL a run holds a session advisory lock named after its job, on a connection of its
own, for as long as it runs; a second scheduler process finds the lock taken and skips that
run. On SQLite there is no such lock: run one scheduler there.

Ticks: every scheduler fires an interval job at the same instants (intervals counted from
``registry.TICK_EPOCH``), and a triggered run records its tick (``JobTick``) when it finishes,
inside the lock. A scheduler that reaches a tick another has finished skips it, so any number
of schedulers run each tick once; one that starts runs the current tick at once unless it is
done, so replacing a killed scheduler loses none. A run killed midway records nothing: the
tick runs again at the next start. ``flask scheduler --once`` runs every job whatever ran.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.util import undefined
from flask import Flask
from sqlalchemy import delete, text

from app.core import logs
from app.core.clock import utcnow
from app.core.metrics import JOB_RUNS, JOB_SECONDS
from app.extensions import db
from app.jobs.models import JobTick
from app.jobs.registry import Job

log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 7_240_312  # arbitrary, fixed: "scheduled jobs" (the audit chain is 7_240_311)
MISFIRE_GRACE_SECONDS = 300
KEEP_TICKS = timedelta(days=7)  # a tick up to this late still runs (once, however many it missed)


@dataclass(frozen=True)
class JobRun:
    name: str
    outcome: str  # "ok", "skipped" (another process is running the job) or "failed"
    count: int | None
    seconds: float


def run_job(app: Flask, job: Job, *, once_per_tick: bool = False) -> JobRun:
    """Run ``job`` once. A failure is logged and rolled back, never raised. With
    ``once_per_tick`` (the scheduler's triggered runs) a tick some process already finished
    is skipped, and a finished run is recorded (``JobTick``)."""
    started = time.monotonic()
    count: int | None = None
    ran = False
    error: Exception | None = None
    logs.bind_unit_of_work()  # the run's lines share an id
    with app.app_context():
        tick = job.tick_of(utcnow())
        try:
            with _held_alone(job.name) as alone:
                ran = alone and not (once_per_tick and _tick_done(job.name, tick))
                if ran:
                    count = job.run()
                    if once_per_tick:
                        _finish_tick(job.name, tick)
        except Exception as exc:  # one job's failure must not stop the others
            db.session.rollback()
            error = exc
    outcome = "failed" if error else "ok" if ran else "skipped"
    run = JobRun(job.name, outcome, count, time.monotonic() - started)
    JOB_RUNS.labels(job=run.name, outcome=run.outcome).inc()
    JOB_SECONDS.labels(job=run.name).observe(run.seconds)
    log.log(logging.ERROR if error else logging.INFO,
            "job=%s outcome=%s count=%s duration_ms=%d%s", run.name, run.outcome,
            "-" if count is None else count, round(run.seconds * 1000),
            f" error={type(error).__name__}" if error else "", exc_info=error)
    return run


def build_scheduler(app: Flask, jobs: Sequence[Job]) -> BlockingScheduler:
    """A UTC scheduler running each job on its trigger, never two runs of one job at once.

    Interval jobs also run as soon as it starts, so frequent restarts cannot starve them."""
    scheduler = BlockingScheduler(timezone=UTC, job_defaults={
        "max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    now = datetime.now(UTC)
    for job in jobs:
        scheduler.add_job(run_job, job.trigger(), args=(app, job), kwargs={"once_per_tick": True},
                          id=job.name, name=job.name,
                          next_run_time=now if job.every is not None else undefined)
    return scheduler


def _tick_done(name: str, tick: datetime) -> bool:
    done = db.session.get(JobTick, (name, tick)) is not None
    db.session.rollback()
    return done


def _finish_tick(name: str, tick: datetime) -> None:
    """Record the tick as run (inside the job's lock), forgetting ticks a week old."""
    db.session.execute(delete(JobTick).where(JobTick.job == name,
                                             JobTick.tick_at < tick - KEEP_TICKS))
    db.session.add(JobTick(job=name, tick_at=tick, finished_at=utcnow()))
    db.session.commit()


def lock_key(name: str) -> int:
    """The job's advisory lock key: a signed 32-bit number derived from its name."""
    return zlib.crc32(name.encode()) - 2**31


@contextmanager
def _held_alone(name: str) -> Iterator[bool]:
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = {"namespace": _LOCK_NAMESPACE, "job": lock_key(name)}
    with db.engine.connect() as connection:
        acquired = connection.execute(
            text("SELECT pg_try_advisory_lock(:namespace, :job)"), key).scalar_one()
        connection.commit()  # the lock outlives the transaction; don't sit idle inside one
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:namespace, :job)"), key)
                connection.commit()
