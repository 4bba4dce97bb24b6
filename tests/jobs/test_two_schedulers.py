"""Several schedulers on PostgreSQL run each tick once: killing one and starting others
loses no tick and doubles none (app/jobs/runner.py, "Ticks")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from app.extensions import db
from app.jobs.registry import TICK_EPOCH
from tests.jobs.scheduler_child import PERIOD

ROOT = Path(__file__).resolve().parents[2]


def start(app) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.jobs.scheduler_child",
                             app.config["DATABASE_URL"]], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def runs() -> list[tuple[int, float]]:
    rows = db.session.execute(text("SELECT pid, ran_at FROM probe_run ORDER BY ran_at")).all()
    db.session.rollback()
    return [(pid, (at - TICK_EPOCH).total_seconds()) for pid, at in rows]


def wait_for_runs(count: int, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while len(runs()) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def test_killing_a_scheduler_and_starting_two_loses_no_tick_and_doubles_none(
        app, postgres_only):
    db.session.execute(text("CREATE TABLE IF NOT EXISTS probe_run "
                            "(pid integer, ran_at timestamptz)"))
    db.session.execute(text("TRUNCATE probe_run"))
    db.session.commit()
    processes = [start(app)]
    try:
        wait_for_runs(2)
        processes += [start(app), start(app)]  # both start while the first still runs
        for process in processes[1:]:
            assert process.stdout.readline() == "starting\n"
        time.sleep(2 * PERIOD)
        wait_for_runs(len(runs()) + 1)  # a tick has just run ...
        time.sleep(PERIOD / 2)  # ... so this is between ticks, however slow the machine
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait()
        before = len(runs())
        wait_for_runs(before + 3)
        found = runs()
    finally:
        for process in processes[1:]:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.communicate(timeout=30)
        db.session.execute(text("DROP TABLE probe_run"))
        db.session.commit()

    # Every scheduler fires at the same instants; a doubled tick would be two runs close
    # together, a lost one a gap of two periods (a run starting late on a busy machine
    # moves a little, never by a period).
    gaps = [later - earlier for (_, earlier), (_, later) in zip(found, found[1:], strict=False)]
    assert len(found) >= 8
    assert all(0.25 * PERIOD < gap < 1.75 * PERIOD for gap in gaps), gaps
    assert len({pid for pid, _ in found}) >= 2  # the others took over
