"""A scheduler process for tests/jobs/test_two_schedulers.py: the real ``build_scheduler``
with one probe job every ``PERIOD`` seconds that writes which process ran which moment.

    python -m tests.jobs.scheduler_child DATABASE_URL
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta

from sqlalchemy import text

from app import create_app
from app.core.clock import utcnow
from app.extensions import db
from app.jobs.registry import Job
from app.jobs.runner import build_scheduler

PERIOD = 2


def probe() -> int:
    db.session.execute(text("INSERT INTO probe_run (pid, ran_at) VALUES (:pid, :at)"),
                       {"pid": os.getpid(), "at": utcnow()})
    db.session.commit()
    return 1


def main() -> None:
    app = create_app({"DATABASE_URL": sys.argv[1], "LOG_LEVEL": "WARNING"})
    scheduler = build_scheduler(app, [Job("probe", probe, "test probe",
                                          every=timedelta(seconds=PERIOD))])
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    print("starting", flush=True)  # the test waits for this line
    scheduler.start()


if __name__ == "__main__":
    main()
