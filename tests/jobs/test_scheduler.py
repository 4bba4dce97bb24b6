"""flask scheduler: the registered jobs, --once and --list, failures, the lock between processes."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app.core.clock import utcnow
from app.extensions import db
from app.jobs import registry
from app.jobs.registry import Job
from app.jobs.runner import MISFIRE_GRACE_SECONDS, build_scheduler, lock_key, run_job
from app.security import signin
from app.security.models import SignInAttempt
from tests import factories

WRONG = "not the right password at all"


def add_attempt(at: datetime, email: str = "someone@clinic.example") -> None:
    db.session.add(SignInAttempt(at=at, email=email, ip="203.0.113.7", succeeded=False))
    db.session.commit()


def attempt_times() -> list[datetime]:
    db.session.expire_all()
    return list(db.session.execute(select(SignInAttempt.at).order_by(SignInAttempt.at)).scalars())


def job_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "app.jobs.runner"]


def fail_to_sign_in(email: str) -> None:
    with pytest.raises(signin.InvalidCredentials):
        signin.sign_in(email=email, password=WRONG, ip="198.51.100.4")


def test_once_prunes_old_sign_in_attempts_and_lockout_still_counts_recent_ones(
        runner, practice, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs")
    user = factories.make_staff(practice)
    for _ in range(4):  # one short of LOGIN_MAX_FAILURES
        fail_to_sign_in(user.email)
    now = utcnow()
    add_attempt(now - timedelta(hours=25), email=user.email)
    add_attempt(now - timedelta(days=40))
    add_attempt(now - timedelta(hours=23))  # older than any window, inside the day's margin

    result = runner.invoke(args=["scheduler", "--once"])

    assert result.exit_code == 0, result.output
    remaining = attempt_times()
    assert len(remaining) == 5
    assert remaining[0] > now - timedelta(hours=24)
    assert any(line.startswith("job=sign-in-attempts outcome=ok count=2 duration_ms=")
               for line in job_lines(caplog))
    with pytest.raises(signin.AccountLocked):
        signin.sign_in(email=user.email, password=WRONG, ip="198.51.100.4")


def test_prune_keeps_attempts_for_twice_a_long_lockout_window(make_app):
    app = make_app(LOGIN_LOCKOUT_MINUTES="1440")
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with app.app_context():
        add_attempt(now - timedelta(hours=49))
        add_attempt(now - timedelta(hours=47))
        assert signin.prune_attempts(now=now) == 1
        assert attempt_times() == [now - timedelta(hours=47)]
        assert signin.prune_attempts(now=now) == 0


def test_a_failing_job_is_logged_rolled_back_and_the_others_still_run(
        runner, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs")

    def broken() -> int:
        db.session.add(SignInAttempt(at=utcnow(), email="half@clinic.example", ip="192.0.2.1",
                                     succeeded=False))
        db.session.flush()
        raise RuntimeError("the job broke")

    monkeypatch.setattr(registry, "JOBS", (
        Job("broken", broken, "always fails", every=timedelta(minutes=5)), *registry.JOBS))
    add_attempt(utcnow() - timedelta(days=3))

    result = runner.invoke(args=["scheduler", "--once"])

    assert result.exit_code == 1
    assert attempt_times() == []  # the old attempt pruned after; the broken job's row undone
    failed = [r for r in caplog.records if r.name == "app.jobs.runner" and r.levelname == "ERROR"]
    assert [r.getMessage().split(" duration_ms")[0] for r in failed] == [
        "job=broken outcome=failed count=-"]
    assert failed[0].getMessage().endswith(" error=RuntimeError")
    assert {line.split()[0] for line in job_lines(caplog)} == {
        f"job={job.name}" for job in registry.JOBS}


def test_list_prints_each_job_with_its_schedule(runner, monkeypatch):
    monkeypatch.setattr(registry, "JOBS", (*registry.JOBS, Job(
        "nightly", lambda: 0, "a nightly tick", cron="30 2 * * *")))

    result = runner.invoke(args=["scheduler", "--list"])

    assert result.exit_code == 0
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in result.output.splitlines()}
    assert lines["sign-in-attempts"].startswith("every 1 h delete staff sign-in attempts")
    assert lines["nightly"] == "cron 30 2 * * * (UTC) a nightly tick"
    assert len(lines) == len(registry.JOBS)


def test_a_job_needs_exactly_one_trigger():
    with pytest.raises(ValueError, match="'vague': give exactly one of every= or cron="):
        Job("vague", lambda: 0, "no trigger")
    with pytest.raises(ValueError, match="exactly one"):
        Job("both", lambda: 0, "two", every=timedelta(hours=1), cron="0 * * * *")


def test_the_scheduler_runs_jobs_on_their_triggers_and_survives_a_failing_one(app, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs")
    failures: list[int] = []
    failed_twice = threading.Event()
    counted = threading.Event()

    def failing() -> int:
        failures.append(1)
        if len(failures) >= 2:
            failed_twice.set()
        raise RuntimeError("again")

    def counting() -> int:
        counted.set()
        return db.session.execute(select(func.count(SignInAttempt.id))).scalar_one()

    scheduler = build_scheduler(app, [
        Job("failing", failing, "fails every second", every=timedelta(seconds=1)),
        Job("counting", counting, "counts hourly", every=timedelta(hours=1)),
        Job("nightly", lambda: 0, "at three", cron="0 3 * * *"),
    ])
    thread = threading.Thread(target=scheduler.start)
    thread.start()
    try:
        assert counted.wait(5), "an interval job runs when the scheduler starts"
        assert failed_twice.wait(5), "a failing job does not stop the scheduler"
        nightly = scheduler.get_job("nightly")
        assert (nightly.next_run_time.hour, nightly.next_run_time.minute) == (3, 0)
        assert nightly.next_run_time.utcoffset() == timedelta(0)
        counting_job = scheduler.get_job("counting")
        assert (counting_job.max_instances, counting_job.coalesce,
                counting_job.misfire_grace_time) == (1, True, MISFIRE_GRACE_SECONDS)
    finally:
        scheduler.shutdown()
        thread.join(5)
    assert "job=counting outcome=ok count=0" in " ".join(job_lines(caplog))


def test_a_second_run_of_a_job_running_elsewhere_is_skipped(app, postgres_only, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs")
    started, release = threading.Event(), threading.Event()
    runs = []

    def slow() -> int:
        started.set()
        release.wait(10)
        return 1

    slow_job = Job("slow", slow, "holds its lock", every=timedelta(minutes=1))
    first = threading.Thread(target=lambda: runs.append(run_job(app, slow_job)))
    first.start()
    try:
        assert started.wait(5)
        second = run_job(app, slow_job)
        other = run_job(app, Job("other", lambda: 2, "another job", every=timedelta(minutes=1)))
    finally:
        release.set()
        first.join(10)

    assert (second.outcome, second.count) == ("skipped", None)
    assert (other.outcome, other.count) == ("ok", 2)
    assert (runs[0].outcome, runs[0].count) == ("ok", 1)
    assert run_job(app, slow_job).outcome == "ok"  # the lock went with the first run
    assert any(line.startswith("job=slow outcome=skipped count=-") for line in job_lines(caplog))


def test_once_skips_a_job_another_scheduler_process_holds(runner, postgres_only, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs")
    add_attempt(utcnow() - timedelta(days=3))
    key = {"namespace": 7_240_312, "job": lock_key("sign-in-attempts")}
    with db.engine.connect() as other_process:
        assert other_process.execute(
            text("SELECT pg_try_advisory_lock(:namespace, :job)"), key).scalar_one()
        result = runner.invoke(args=["scheduler", "--once"])
        other_process.execute(text("SELECT pg_advisory_unlock(:namespace, :job)"), key)

    assert result.exit_code == 0
    assert len(attempt_times()) == 1
    assert any(line.startswith("job=sign-in-attempts outcome=skipped")
               for line in job_lines(caplog))
    assert runner.invoke(args=["scheduler", "--once"]).exit_code == 0
    assert attempt_times() == []


def test_a_job_about_practice_data_runs_once_per_practice_acting_for_it(app, monkeypatch):
    from app.core.tenancy import current_practice_id
    from app.scheduling.waitlist import offers

    practices = [factories.make_practice(name="One"), factories.make_practice(name="Two")]
    seen: list[int | None] = []

    def expire_offers() -> int:
        seen.append(current_practice_id())
        return 1

    monkeypatch.setattr(offers, "expire_offers", expire_offers)
    (job,) = [job for job in registry.JOBS if job.name == "waitlist-offers"]

    assert job.run() == 2
    assert seen == [practice.id for practice in practices]
