"""Slot engine latency on PostgreSQL: 50 providers over 3 locations, weekday hours with a
lunch break, 30,000 booked appointments over the next 90 days. Times the two questions the
booking pages ask — "the first 20 open slots with any provider" and "a full week for one
provider" — after a warm-up, in a fresh transaction each time, and prints median and p95.

    .venv/bin/python -m bench.slots [--database URL] [--runs 100]

Recreates the scratch database (default ``frontdesk_bench_slots``) each run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider, provider_location
from app.scheduling import slots
from app.scheduling.models import (
    Appointment,
    AppointmentType,
    WorkingHours,
    provider_appointment_type,
)

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/frontdesk_bench_slots"
PROVIDERS, APPOINTMENTS, DAYS, PATIENTS = 50, 30_000, 90, 500
ZONES = ("America/Chicago", "America/Denver", "America/New_York")
# (name, minutes, buffer before, buffer after, share of the bookings)
TYPES = (("Exam", 30, 0, 0, 3), ("Cleaning", 60, 0, 10, 2), ("Filling", 45, 5, 5, 2),
         ("New patient visit", 90, 0, 15, 1))
# Long days, so 30,000 bookings leave about one slot in six open.
SHIFTS = ((time(7), time(12)), (time(13), time(18)))


def fresh_database(url: str) -> str:
    """Drop, create and migrate the scratch database; returns the app's (psycopg 3) URL."""
    from flask_migrate import upgrade

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        sys.exit(f"the benchmark needs a PostgreSQL database URL, got {url!r}")
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    app_url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": app_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app_url


def seed(rng: random.Random, today: date) -> dict[str, list[int]]:
    """The practice, bulk-inserted; returns the ids the timed queries pick from."""
    practice = Practice(name="Bench Dental", phone="+13125550100", timezone=ZONES[0])
    db.session.add(practice)
    db.session.flush()
    locations = [Location(practice_id=practice.id, name=f"Office {n}", address_line="1 Main St",
                          city="Springfield", state="IL", postal_code="62701",
                          phone="+13125550101", timezone=zone) for n, zone in enumerate(ZONES)]
    types = [AppointmentType(practice_id=practice.id, name=name, duration_minutes=minutes,
                             buffer_before_minutes=before, buffer_after_minutes=after)
             for name, minutes, before, after, _ in TYPES]
    providers = [Provider(practice_id=practice.id, given_name="Sam", family_name=f"Bench{n}")
                 for n in range(PROVIDERS)]
    patients = [Patient(practice_id=practice.id, given_name="Maria", family_name=f"Bench{n}",
                        date_of_birth=date(1970, 1, 1) + timedelta(days=n))
                for n in range(PATIENTS)]
    for patient in patients:
        patient.refresh_indexes()
    db.session.add_all([*locations, *types, *providers, *patients])
    db.session.flush()
    # Every tenth provider splits the week between two offices; the rest keep to one.
    homes = {p.id: [locations[n % 3]] if n % 10 else [locations[n % 3], locations[(n + 1) % 3]]
             for n, p in enumerate(providers)}
    db.session.execute(insert(provider_location), [
        {"provider_id": pid, "location_id": loc.id} for pid, locs in homes.items() for loc in locs])
    db.session.execute(insert(provider_appointment_type), [
        {"provider_id": p.id, "appointment_type_id": t.id} for p in providers for t in types])
    office_on = {pid: {weekday: locs[weekday % len(locs)] for weekday in range(5)}
                 for pid, locs in homes.items()}
    db.session.execute(insert(WorkingHours), [
        {"practice_id": practice.id, "provider_id": pid, "location_id": loc.id,
         "weekday": weekday, "start_time": start, "end_time": end}
        for pid, days in office_on.items() for weekday, loc in days.items()
        for start, end in SHIFTS])
    rows = _appointments(rng, today=today, practice_id=practice.id, office_on=office_on,
                         types=types, patient_ids=[p.id for p in patients])
    db.session.execute(insert(Appointment), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    return {"locations": [loc.id for loc in locations], "types": [t.id for t in types],
            "providers": [p.id for p in providers]}


def _appointments(rng: random.Random, *, today: date, practice_id: int,
                  office_on: dict[int, dict[int, Location]], types: list[AppointmentType],
                  patient_ids: list[int]) -> list[dict]:
    """Each working day filled back to back, then exactly APPOINTMENTS of those drawn at
    random, so the calendars are busy but not full."""
    candidates = []
    for offset in range(DAYS):
        day = today + timedelta(days=offset)
        for provider_id, days in office_on.items():
            location = days.get(day.weekday())
            if location is None:
                continue
            zone = ZoneInfo(location.timezone)
            for shift_start, shift_end in SHIFTS:
                cursor = datetime.combine(day, shift_start, zone)
                limit = datetime.combine(day, shift_end, zone)
                while True:
                    kind = rng.choices(types, weights=[share for *_, share in TYPES])[0]
                    start = cursor + timedelta(minutes=kind.buffer_before_minutes)
                    end = start + timedelta(minutes=kind.duration_minutes)
                    if end + timedelta(minutes=kind.buffer_after_minutes) > limit:
                        break
                    candidates.append((provider_id, location.id, kind.id, start, end))
                    cursor = end + timedelta(minutes=kind.buffer_after_minutes)
    print(f"  {len(candidates):,} appointments would fill every working hour")
    chosen = rng.sample(candidates, APPOINTMENTS)
    return [{"practice_id": practice_id, "patient_id": rng.choice(patient_ids),
             "provider_id": pid, "location_id": lid, "appointment_type_id": tid,
             "start_at": start.astimezone(UTC), "end_at": end.astimezone(UTC),
             "status": "booked", "patient_status": "accepted", "source": "staff"}
            for pid, lid, tid, start, end in chosen]


def timed(runs: int, question: Callable[[int], list[slots.Slot]]) -> tuple[list[float], int]:
    """Seconds per call (after five warm-up calls), each in a fresh transaction."""
    for n in range(5):
        question(n)
        db.session.rollback()
    samples, found = [], 0
    for n in range(runs):
        started = clock.perf_counter()
        found += len(question(n))
        samples.append(clock.perf_counter() - started)
        db.session.rollback()
    return samples, found // runs


def report(title: str, samples: list[float], found: int) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"  {title:40} median {statistics.median(samples) * 1000:5.1f} ms   "
          f"p95 {p95 * 1000:5.1f} ms   ({len(samples)} runs, {found} slots each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_SLOTS_DATABASE_URL",
                                                             DEFAULT_DATABASE))
    parser.add_argument("--runs", type=int, default=100)
    options = parser.parse_args()
    url = fresh_database(options.database)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        started = clock.perf_counter()
        ids = seed(random.Random(2026), now.date())
        print(f"Seeded {PROVIDERS} providers, {len(ids['locations'])} locations, "
              f"{APPOINTMENTS:,} appointments over {DAYS} days in "
              f"{clock.perf_counter() - started:.1f} s "
              f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
              f"PostgreSQL {_server_version()})")
        location, exam = ids["locations"][0], ids["types"][0]

        def first_twenty(n: int) -> list[slots.Slot]:
            start = now + timedelta(days=n % 30)
            return slots.find_open_slots(appointment_type_id=exam, location_id=location,
                                         start=start, end=now + timedelta(days=DAYS),
                                         limit=20, now=now)

        def provider_week(n: int) -> list[slots.Slot]:
            index = n % PROVIDERS  # at its home office, locations[index % 3]
            start = now + timedelta(days=7 * (n % 12))
            return slots.find_open_slots(
                appointment_type_id=ids["types"][n % len(TYPES)],
                location_id=ids["locations"][index % 3], provider_id=ids["providers"][index],
                start=start, end=start + timedelta(days=7), now=now)

        report("first 20 open slots, any provider", *timed(options.runs, first_twenty))
        report("a full week for one provider", *timed(options.runs, provider_week))
        db.session.remove()
        db.engine.dispose()


def _server_version() -> str:
    return db.session.execute(text("SHOW server_version")).scalar_one()


if __name__ == "__main__":
    main()
