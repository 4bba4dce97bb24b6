"""FHIR API latency on PostgreSQL, on bench.slots' practice (50 providers over 3 locations,
30,000 booked appointments over the next 90 days) plus one calendar (FHIR Schedule) per
provider and location with hours and a ``system/*.*`` token. Times four requests through
Flask's test client — in-process, no network and no HTTP server, so the app's own cost —
after a warm-up, and prints median and p95:

- a provider's free Slots (the default 7-day window),
- a practitioner's Appointments over one week,
- Patients by family name,
- one location's SMART Scheduling Links slot file (public, SCHEDULING_LINKS_DAYS ahead).

Beside the Slot search, in the same run and process, the slot engine answering one of those
calendars' weeks for one appointment type (``find_open_slots``, as ``bench.slots`` times it),
interleaved with the searches so both see the same load: the issue's goal is the search
within 2x of it. The search also reports its SQL statements.

    .venv/bin/python -m bench.fhir_api [--database URL] [--runs 100] [--reuse]

Recreates the scratch database (default ``frontdesk_bench_fhir``) each run; ``--reuse``
times an existing one again (seeded by an earlier run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from app import create_app
from app.extensions import db
from app.fhir.auth import create_token
from app.practice.models import Practice
from app.scheduling import slots as engine
from app.scheduling.calendars import ensure_schedule
from app.scheduling.models import AppointmentType, Schedule, WorkingHours
from bench import slots as builder
from bench.common import percentile

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/frontdesk_bench_fhir"
WARM_UP = 5


def add_calendars() -> list[int]:
    """One calendar per provider and location with weekly hours, as the app keeps them;
    returns their ids, in provider order."""
    practice_id = db.session.execute(select(Practice.id)).scalar_one()
    pairs = sorted({(row.provider_id, row.location_id)
                    for row in db.session.execute(select(WorkingHours)).scalars()})
    calendars = [ensure_schedule(practice_id=practice_id, provider_id=provider_id,
                                 location_id=location_id) for provider_id, location_id in pairs]
    db.session.commit()
    return [calendar.id for calendar in calendars]


def timed(client: FlaskClient, runs: int, url_of: Callable[[int], str],
          headers: dict[str, str], count: Callable[[bytes], str]) -> tuple[list[float], str]:
    """Seconds per request (after WARM_UP requests) and the items in the last answer."""
    for n in range(WARM_UP):
        _get(client, url_of(n), headers)
    samples, found = [], ""
    for n in range(runs):
        url = url_of(n)
        started = clock.perf_counter()
        body = _get(client, url, headers)
        samples.append(clock.perf_counter() - started)
        found = count(body)
    return samples, found


def _get(client: FlaskClient, url: str, headers: dict[str, str]) -> bytes:
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        sys.exit(f"GET {url} answered {response.status_code}: {response.get_data(as_text=True)}")
    return response.get_data()


def bundle_entries(body: bytes) -> str:
    bundle = json.loads(body)
    return f"{len(bundle.get('entry', []))} of {bundle['total']}"


def ndjson_lines(body: bytes) -> str:
    return str(body.count(b"\n"))


def report(title: str, samples: list[float], found: str, unit: str) -> dict[str, float]:
    print(f"  {title:52} median {statistics.median(samples) * 1000:6.1f} ms   "
          f"p95 {percentile(samples, 0.95) * 1000:6.1f} ms   "
          f"({len(samples)} runs, {found} {unit} in the last)")
    return {"median_ms": statistics.median(samples) * 1000,
            "p95_ms": percentile(samples, 0.95) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_FHIR_DATABASE_URL",
                                                             DEFAULT_DATABASE))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--reuse", action="store_true")
    options = parser.parse_args()
    measure(options.database, runs=options.runs, reuse=options.reuse)


def measure(database: str, *, runs: int, reuse: bool = False) -> dict[str, dict[str, float]]:
    """Seed, then time each request kind; printed and returned by name."""
    url = (builder.fresh_database(database) if not reuse else
           database.replace("postgresql://", "postgresql+psycopg://", 1))
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        today = datetime.now(UTC).date()
        started = clock.perf_counter()
        if reuse:
            ids = {"providers": _ids(Schedule.provider_id), "locations": _ids(Schedule.location_id)}
            calendar_ids = _ids(Schedule.id)
        else:
            ids = builder.seed(random.Random(2026), today)
            calendar_ids = add_calendars()
        practice_id = db.session.execute(select(Practice.id)).scalar_one()
        token = create_token(name="bench", scopes="system/*.*", practice_id=practice_id).token
        db.session.commit()
        weeks = _engine_weeks(calendar_ids)
        print(f"{'Reused' if reuse else 'Seeded'} {builder.PROVIDERS} providers, "
              f"{len(ids['locations'])} locations, "
              f"{len(calendar_ids)} calendars, {builder.APPOINTMENTS:,} appointments over "
              f"{builder.DAYS} days in {clock.perf_counter() - started:.1f} s "
              f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
              f"PostgreSQL {db.session.execute(text('SHOW server_version')).scalar_one()})")
        db.session.remove()
    print(f"In-process Flask test client (no network, no HTTP server); "
          f"SCHEDULING_LINKS_DAYS={app.config['SCHEDULING_LINKS_DAYS']}")
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    providers, locations = ids["providers"], ids["locations"]

    def free_slots(n: int) -> str:
        return f"/fhir/Slot?schedule=Schedule/{calendar_ids[n % len(calendar_ids)]}&status=free"

    def week_of_appointments(n: int) -> str:
        day = today + timedelta(days=7 * (n % 12))
        return (f"/fhir/Appointment?practitioner=Practitioner/{providers[n % len(providers)]}"
                f"&date=ge{day}&date=le{day + timedelta(days=6)}&_count=100")

    def patients_by_family(n: int) -> str:
        return f"/fhir/Patient?family=Bench{n % builder.PATIENTS}"

    def slot_file(n: int) -> str:
        return f"/fhir/$bulk-publish/slots-{locations[n % len(locations)]}.ndjson"

    results = {
        **slot_search_beside_engine(app, client, runs, free_slots, bearer, weeks),
        "fhir_appointment_search": report(
            "Appointment?practitioner=&date=ge&date=le (a week)",
            *timed(client, runs, week_of_appointments, bearer, bundle_entries), "appointments"),
        "fhir_patient_search": report("Patient?family=", *timed(
            client, runs, patients_by_family, bearer, bundle_entries), "patients"),
        "slot_file": report("$bulk-publish/slots-<location>.ndjson (public)", *timed(
            client, runs, slot_file, {}, ndjson_lines), "lines"),
    }
    with app.app_context():
        db.engine.dispose()
    return results


def _ids(column: object) -> list[int]:
    return sorted(set(db.session.execute(select(column)).scalars()) - {None})


def _engine_weeks(calendar_ids: list[int]) -> list[Callable[[], object]]:
    """One engine question per calendar: a week of its first type (the FHIR search asks for
    every type the calendar offers)."""
    first_type = min(db.session.execute(select(AppointmentType.id)).scalars())
    rows = db.session.execute(select(Schedule.provider_id, Schedule.location_id)
                              .where(Schedule.id.in_(calendar_ids)).order_by(Schedule.id)).all()

    def week(provider_id: int, location_id: int) -> object:
        now = datetime.now(UTC)
        return engine.find_open_slots(appointment_type_id=first_type, location_id=location_id,
                                      provider_id=provider_id, start=now,
                                      end=now + timedelta(days=7), now=now)

    return [lambda p=provider_id, loc=location_id: week(p, loc)
            for provider_id, location_id in rows]


def slot_search_beside_engine(app, client: FlaskClient, runs: int,  # noqa: ANN001
                              url_of: Callable[[int], str], headers: dict[str, str],
                              weeks: list[Callable[[], object]]) -> dict[str, dict[str, float]]:
    """The Slot search and the engine's week, alternated; and the search's statements."""
    searches, answers, found, per_search = [], [], "", 0
    statements: list[str] = []
    with app.app_context():
        sql_engine = db.engine

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(sql_engine, "before_cursor_execute", count)
    try:
        for n in range(-WARM_UP, runs):
            statements.clear()
            started = clock.perf_counter()
            body = _get(client, url_of(n), headers)  # its own app context, as in production
            elapsed = clock.perf_counter() - started
            per_search = len(statements)
            with app.app_context():
                started = clock.perf_counter()
                weeks[n % len(weeks)]()
                engine_elapsed = clock.perf_counter() - started
                db.session.rollback()
            if n >= 0:
                searches.append(elapsed)
                answers.append(engine_elapsed)
                found = bundle_entries(body)
    finally:
        event.remove(sql_engine, "before_cursor_execute", count)
    search = report("Slot?schedule=&status=free (default 7 days)", searches, found, "slots")
    week = report("slot engine: a week of one calendar, one type", answers, "", "")
    ratio = search["median_ms"] / week["median_ms"]
    print(f"  Slot search / engine week: {ratio:.2f} (goal: at most 2); "
          f"{per_search} SQL statements per search")
    return {"fhir_slot_search": {**search, "statements": per_search, "of_engine_week": ratio},
            "engine_week": week}


if __name__ == "__main__":
    main()
