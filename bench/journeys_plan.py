"""Journey planning at scale on PostgreSQL: plan and enqueue the reminders of the next day's
100,000 appointments (80,000 patients; every fifth shares a mobile number with the one before,
so households get one text per moment), as the scheduler's ``journey-planner`` job does.

    .venv/bin/python -m bench.journeys_plan [--database URL] [--appointments 100000]

Recreates the scratch database (default ``frontdesk_bench_journeys``). Prints the time and
the SQL statements of a first run (everything is new) and of a second run (nothing to do),
per appointment.
"""

from __future__ import annotations

import argparse
import time as clock
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, select

from app import create_app
from app.core.clock import local_to_utc, utcnow
from app.core.tenancy import acting_for
from app.extensions import db
from app.journeys.batch import plan_window
from app.messaging.models import Message
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling.models import Appointment, AppointmentType
from bench.common import environment_line, fresh_database

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/frontdesk_bench_journeys"
ZONE = ZoneInfo("America/Chicago")
PROVIDERS = 100


def seed(appointments: int) -> date:
    """The practice, its people and ``appointments`` visits tomorrow (local); returns the day."""
    practice = Practice(name="Lakeside Family Dental", phone="+13125550100",
                        timezone=ZONE.key)
    db.session.add(practice)
    db.session.flush()
    location = Location(practice_id=practice.id, name="Loop", address_line="1 Main St",
                        city="Chicago", state="IL", postal_code="60601", phone="+13125550101",
                        timezone=ZONE.key)
    kind = AppointmentType(practice_id=practice.id, name="Checkup", duration_minutes=10)
    providers = [Provider(practice_id=practice.id, given_name="Ana", family_name=f"P{n}")
                 for n in range(PROVIDERS)]
    db.session.add_all([location, kind, *providers])
    db.session.flush()
    patient_ids = []
    count = appointments * 4 // 5
    for first in range(0, count, 5000):
        people = [Patient(practice_id=practice.id, given_name="Maria", family_name=f"B{n}",
                          date_of_birth=date(1980, 1, 1) + timedelta(days=n % 9000),
                          mobile_phone=f"+1312{(n - (n % 5 == 4)):07d}",
                          preferred_language="en")
                  for n in range(first, min(first + 5000, count))]
        for person in people:
            person.refresh_indexes()
        db.session.add_all(people)
        db.session.flush()
        patient_ids += [person.id for person in people]
        db.session.commit()
    day = utcnow().astimezone(ZONE).date() + timedelta(days=1)
    opening = local_to_utc(day, time(6), ZONE)
    rows = [{"practice_id": practice.id, "patient_id": patient_ids[n % len(patient_ids)],
             "provider_id": providers[n % PROVIDERS].id, "location_id": location.id,
             "appointment_type_id": kind.id,
             "start_at": opening + timedelta(minutes=10 * (n // PROVIDERS % 96)),
             "end_at": opening + timedelta(minutes=10 * (n // PROVIDERS % 96) + 10),
             "status": "booked", "patient_status": "needs-action", "source": "ehr",
             "created_at": utcnow(), "updated_at": utcnow()} for n in range(appointments)]
    for first in range(0, appointments, 10_000):
        db.session.execute(insert(Appointment), rows[first:first + 10_000])
    db.session.commit()
    return day


def timed_plan(day: date) -> tuple[float, int, int]:
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    started = clock.perf_counter()
    planned = plan_window(start=local_to_utc(day, time(0), ZONE),
                          end=local_to_utc(day + timedelta(days=1), time(0), ZONE))
    db.session.commit()
    seconds = clock.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    return seconds, statements, planned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--appointments", type=int, default=100_000)
    args = parser.parse_args()
    app = create_app({"DATABASE_URL": fresh_database(args.database), "LOG_LEVEL": "WARNING"})
    with app.app_context():
        day = seed(args.appointments)
        practice_id = db.session.execute(select(Practice.id)).scalar_one()
        with acting_for(practice_id):
            for label in ("first run (all new)", "second run (nothing to do)"):
                seconds, statements, planned = timed_plan(day)
                queued = db.session.execute(select(func.count(Message.id))).scalar()
                print(f"{label}: {planned} appointments in {seconds:.1f} s "
                      f"({seconds / planned * 1e6:.0f} µs and {statements / planned:.3f} SQL "
                      f"statements per appointment); {queued} messages queued")
    print(environment_line())


if __name__ == "__main__":
    main()
