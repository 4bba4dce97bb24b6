"""What both benchmarks share: a scratch PostgreSQL database, the app's environment, seed
data, a table for the ceiling's bare inserts, and how to report timings."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/frontdesk_bench"
CEILING_TABLE = "bench_ceiling"


def fresh_database(url: str) -> str:
    """Drop and recreate the scratch database, migrate it with ``flask db upgrade``, add the
    ceiling's table; returns the URL in the app's (psycopg 3) form."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        sys.exit(f"the benchmarks need a PostgreSQL database URL, got {url!r}")
    with psycopg.connect(_libpq(parsed.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, check=True,
                   env=app_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with psycopg.connect(_libpq(parsed), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {CEILING_TABLE} (id serial PRIMARY KEY, ref text NOT NULL,"
                     " created_at timestamptz NOT NULL DEFAULT now())")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _libpq(url) -> str:  # noqa: ANN001
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL psycopg itself accepts (no SQLAlchemy driver suffix)."""
    return _libpq(make_url(url))


def app_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of an app process (worker, gunicorn) on the scratch database, with
    the development keys unless the caller's environment sets its own."""
    return {**os.environ, "FLASK_APP": "wsgi", "FRONTDESK_ENV": "development",
            "LOG_LEVEL": "WARNING", "DATABASE_URL": database_url, **settings}


def midday_zone() -> str:
    """A fixed-offset zone where it is now around noon: quiet hours defer nothing."""
    from app.core.clock import utcnow

    offset = 12 - utcnow().hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def seed(database_url: str, *, patients: int, messages: int = 0) -> list[str]:
    """A practice, ``patients`` (at most 10,000) patients with mobile numbers, and
    ``messages`` due texts spread over them (queued in one transaction); returns the
    patients' numbers."""
    from app import create_app
    from app.core.clock import utcnow
    from app.extensions import db
    from app.messaging import outbox
    from app.messaging.models import Purpose
    from app.patients.models import Patient
    from app.practice.models import Practice

    app = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        practice = Practice(name="Lakeside Family Dental", phone="+13125550100",
                            timezone=midday_zone())
        db.session.add(practice)
        db.session.flush()
        people = [Patient(practice_id=practice.id, given_name="Maria", family_name=f"Bench{n}",
                          date_of_birth=utcnow().date() - timedelta(days=10_000 + n),
                          mobile_phone=f"+1312555{n:04d}", preferred_language="en")
                  for n in range(patients)]
        for person in people:
            person.refresh_indexes()
        db.session.add_all(people)
        db.session.flush()
        due = utcnow() - timedelta(minutes=1)
        for n in range(messages):
            outbox.enqueue(practice_id=practice.id, patient_id=people[n % patients].id,
                           purpose=Purpose.APPOINTMENT, idempotency_key=f"bench:{n}",
                           body=f"{practice.name}: visit {n} is confirmed. Reply STOP to opt out.",
                           send_at=due)
        db.session.commit()
        numbers = [person.mobile_phone for person in people]
        db.session.remove()
        db.engine.dispose()
    return numbers


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_line(samples: list[float]) -> str:
    return (f"p50 {percentile(samples, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(samples, 0.99) * 1000:.1f} ms, "
            f"mean {statistics.fmean(samples) * 1000:.1f} ms")


def environment_line() -> str:
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, PostgreSQL at loopback"
