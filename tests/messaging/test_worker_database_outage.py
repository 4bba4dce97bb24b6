"""A worker that loses its database waits with a growing pause and carries on when it is
back, instead of dying into a restart loop; on PostgreSQL, against real dropped
connections."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.messaging import cli
from app.messaging.dispatcher import DispatchStats
from app.messaging.models import MessageStatus
from tests.messaging.test_delivery_guarantees import (  # noqa: F401
    fake_twilio,
    outbox_rows,
    seed_messages,
    start_worker,
    workers_now,
)


def test_lost_database_passes_wait_longer_each_time_then_work_resumes(app, monkeypatch):
    outcomes = [OperationalError("SELECT 1", {}, Exception("server closed"))] * 7
    outcomes.append(DispatchStats(sent=3))
    passes: list[object] = []

    def run_once(*_args, **_kwargs):
        passes.append(outcomes[len(passes)])
        if isinstance(passes[-1], Exception):
            raise passes[-1]
        return passes[-1]

    pauses: list[float] = []
    monkeypatch.setattr(cli, "run_once", run_once)
    monkeypatch.setattr(cli, "_pause", lambda seconds, stopping: pauses.append(seconds))
    cli._work(cli.build_providers(), once=False, batch_size=10, idle_seconds=1,
              stopping=lambda: len(passes) == len(outcomes),
              fetch_media=lambda url: pytest.fail("no MMS picture waits to be fetched"))
    assert pauses == [2, 4, 8, 16, 32, 60, 60]


def test_a_worker_survives_its_connections_being_dropped(
        practice, fake_twilio, start_worker, postgres_only, monkeypatch):  # noqa: F811
    with monkeypatch.context() as env:
        env.setenv("PGAPPNAME", "worker-under-test")  # libpq names the worker's connections
        process = start_worker("--idle-seconds", "0.2")
    deadline = time.monotonic() + 20
    dropped = 0
    while not dropped and time.monotonic() < deadline:  # connected and polling: drop it
        time.sleep(0.2)
        dropped = db.session.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'worker-under-test'")).scalar_one()
        db.session.commit()
    assert dropped
    ids = seed_messages(practice, patients=2, messages=5, now=workers_now())
    deadline = time.monotonic() + 30
    # Twilio having them is not enough: the worker records each as sent just after.
    while time.monotonic() < deadline and not (
            len(fake_twilio.messages) >= len(ids)
            and all(row.status == MessageStatus.SENT for row in outbox_rows(ids))):
        time.sleep(0.1)
    assert process.poll() is None, process.communicate()[1]
    assert all(row.status == MessageStatus.SENT for row in outbox_rows(ids))
