"""The public SMART Scheduling Links slot file under load: gunicorn (2 workers) on 127.0.0.1,
``clients`` threads GETting ``/fhir/$bulk-publish/slots-<location>.ndjson`` as aggregators
poll it, beside the same stack answering a constant (``bench.ceiling_app``'s ``/healthz``).

    .venv/bin/python -m bench.slot_file_storm [--requests 5000] [--clients 20]
"""

from __future__ import annotations

import argparse
from datetime import time

from bench.common import (
    DEFAULT_DATABASE,
    app_env,
    environment_line,
    fresh_database,
    percentile,
)
from bench.inbound_webhook import Gunicorn, load

PROVIDERS = 6


def seed_office(database_url: str) -> int:
    """One practice, one Chicago location, six providers working every day 08:00-18:00 with
    an online-bookable 30-minute type; returns the location's id."""
    from app import create_app
    from app.extensions import db
    from app.practice.models import Location, Practice, Provider
    from app.scheduling import calendars
    from app.scheduling.calendars import WeeklyInterval
    from app.scheduling.models import AppointmentType

    app = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        practice = Practice(name="Lakeside Family Dental", phone="+13125550100",
                            timezone="America/Chicago")
        db.session.add(practice)
        db.session.flush()
        location = Location(practice_id=practice.id, name="Lakeside", address_line="1 Main St",
                            city="Chicago", state="IL", postal_code="60601",
                            phone="+13125550101", timezone="America/Chicago")
        kind = AppointmentType(practice_id=practice.id, name="Cleaning", duration_minutes=30)
        db.session.add_all([location, kind])
        db.session.flush()
        for n in range(PROVIDERS):
            provider = Provider(practice_id=practice.id, given_name="Ana",
                                family_name=f"Rivera{n}", locations=[location])
            db.session.add(provider)
            db.session.flush()
            calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                            appointment_type_ids=[kind.id])
            calendars.set_weekly_hours(
                practice_id=practice.id, provider_id=provider.id, location_id=location.id,
                intervals=[WeeklyInterval(day, time(8), time(18)) for day in range(7)])
        db.session.commit()
        location_id = location.id
        db.session.remove()
        db.engine.dispose()
    return location_id


def measure(database_url: str, *, requests_count: int, clients: int) -> dict[str, float]:
    location_id = seed_office(database_url)
    env = app_env(database_url)
    results: dict[str, float] = {}
    for label, target, path in (
            ("", "wsgi:app", f"/fhir/$bulk-publish/slots-{location_id}.ndjson"),
            ("ceiling_", "bench.ceiling_app:app", "/healthz")):
        with Gunicorn(target, env) as server:
            url = server.base_url + path
            calls = [lambda session, url=url: session.get(url, timeout=30)
                     for _ in range(requests_count)]
            per_second, latencies = load(calls, clients)
        results.update({f"{label}req_per_s": per_second,
                        f"{label}p95_ms": percentile(latencies, 0.95) * 1000})
    print(f"slot file: {results['req_per_s']:,.0f} req/s, p95 {results['p95_ms']:.1f} ms; "
          f"ceiling {results['ceiling_req_per_s']:,.0f} req/s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    print(f"bench.slot_file_storm: {environment_line()}")
    measure(fresh_database(args.database_url), requests_count=args.requests,
            clients=args.clients)


if __name__ == "__main__":
    main()
