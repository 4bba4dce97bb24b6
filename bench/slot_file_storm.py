"""The public SMART Scheduling Links slot file under load: gunicorn (2 workers, the same
settings as every other workload) on 127.0.0.1, ``clients`` threads GETting
``/fhir/$bulk-publish/slots-<location>.ndjson`` as aggregators poll it — whole (200), and with
``If-None-Match`` of the ETag they hold (304, no body) — beside the same stack answering a
constant body, the product's file of that run, the same ways (``bench.slot_file_ceiling``).

The clients send ``Accept-Encoding: gzip`` as real pollers do, so both servers answer the
gzip-compressed file; the clients keep the bytes as sent (decompressing them would spend the
same two cores on the clients' side, not the server's). Once more without it, the whole file
uncompressed, for the pollers that do not ask for gzip.

    .venv/bin/python -m bench.slot_file_storm [--requests 5000] [--clients 20]
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import threading
import time as clock
from concurrent.futures import ThreadPoolExecutor
from datetime import time

import requests

from bench.common import (
    DEFAULT_DATABASE,
    app_env,
    environment_line,
    fresh_database,
    percentile,
)
from bench.inbound_webhook import Gunicorn

PROVIDERS = 6
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


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
    """Requests per second and p95 of the product's file and of the constant (gzip: whole
    and 304; identity: whole)."""
    location_id = seed_office(database_url)
    env = app_env(database_url)
    results: dict[str, float] = {}
    with Gunicorn("wsgi:app", env) as server:
        url = f"{server.base_url}/fhir/$bulk-publish/slots-{location_id}.ndjson"
        body = _checked_file(url)
        results["file_bytes"], results["gzip_bytes"] = len(body), len(_raw(url, GZIP)[0])
        _storm(results, "", url, requests_count, clients)
    with tempfile.NamedTemporaryFile(suffix=".ndjson") as constant:
        constant.write(body)
        constant.flush()
        ceiling_env = {**env, "SLOT_FILE_CEILING_PATH": constant.name}
        with Gunicorn("bench.slot_file_ceiling:app", ceiling_env) as server:
            url = f"{server.base_url}/slots.ndjson"
            if _checked_file(url) != body:
                raise RuntimeError("the ceiling does not serve the product's file")
            _storm(results, "ceiling_", url, requests_count, clients)
    print(f"slot file ({results['file_bytes']:,.0f} bytes, gzip {results['gzip_bytes']:,.0f}): "
          f"{results['req_per_s']:,.0f} req/s, p95 {results['p95_ms']:.1f} ms; If-None-Match: "
          f"{results['304_req_per_s']:,.0f} req/s, p95 {results['304_p95_ms']:.1f} ms; "
          f"uncompressed: {results['identity_req_per_s']:,.0f} req/s, p95 "
          f"{results['identity_p95_ms']:.1f} ms; the constant the same three ways: "
          f"{results['ceiling_req_per_s']:,.0f}, {results['ceiling_304_req_per_s']:,.0f} and "
          f"{results['ceiling_identity_req_per_s']:,.0f} req/s")
    return results


def _raw(url: str, headers: dict[str, str]) -> tuple[bytes, requests.Response]:
    """The body as sent (still compressed, if it was) and the response."""
    response = requests.get(url, headers=headers, timeout=60, stream=True)
    response.raise_for_status()
    return response.raw.read(decode_content=False), response


def _checked_file(url: str) -> bytes:
    """The identity body, after checking that the gzip answer decompresses to it."""
    body, _ = _raw(url, IDENTITY)
    packed, response = _raw(url, GZIP)
    if response.headers.get("Content-Encoding") != "gzip" or gzip.decompress(packed) != body:
        raise RuntimeError(f"GET {url} with Accept-Encoding: gzip is not the file gzipped")
    return body


def _storm(results: dict[str, float], label: str, url: str, count: int, clients: int) -> None:
    etag = _raw(url, GZIP)[1].headers["ETag"]
    for kind, headers, status in (("", GZIP, 200), ("304_", {**GZIP, "If-None-Match": etag}, 304),
                                  ("identity_", IDENTITY, 200)):
        per_second, latencies = _load(url, headers, status, count, clients)
        results[f"{label}{kind}req_per_s"] = per_second
        results[f"{label}{kind}p95_ms"] = percentile(latencies, 0.95) * 1000


def _load(url: str, headers: dict[str, str], status: int, count: int, clients: int
          ) -> tuple[float, list[float]]:
    """``count`` GETs from ``clients`` threads (a keep-alive session each) after a warm-up,
    each body read as sent; requests per second and each latency. Any other status than
    ``status`` stops the run."""
    local = threading.local()

    def get(_: int) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = clock.perf_counter()
        response = local.session.get(url, headers=headers, timeout=30, stream=True)
        response.raw.read(decode_content=False)
        elapsed = clock.perf_counter() - started
        if response.status_code != status:
            raise RuntimeError(f"GET {url}: HTTP {response.status_code}, not {status}")
        return elapsed

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(get, range(min(count, 2 * clients))))
        started = clock.perf_counter()
        latencies = list(pool.map(get, range(count)))
        return count / (clock.perf_counter() - started), latencies


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
