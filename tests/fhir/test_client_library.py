"""A maintained third-party FHIR client (fhirpy) reads and searches our API over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import time, timedelta
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, OperationOutcome
from flask import Flask
from werkzeug.serving import make_server

from app.core.clock import utcnow
from app.fhir import auth
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from tests import factories


@pytest.fixture
def live_fhir(app: Flask, make_app: Callable[..., Flask]) -> Iterator[str]:
    """The app (on this test's database, CSRF on as in production) served on a free port,
    which is its PUBLIC_BASE_URL: links in Bundles are built from that setting alone."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.app = make_app(WTF_CSRF_ENABLED=True,
                          PUBLIC_BASE_URL=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, name="fhir-live", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_fhirpy_reads_searches_and_pages_with_a_real_token(live_fhir, practice):
    token = auth.create_token(name="fhirpy", scopes="system/*.read",
                              practice_id=practice.id).token
    wanted = [factories.make_patient(practice, family_name="Libtest") for _ in range(3)]
    factories.make_patient(practice, family_name="Someone")
    location = factories.make_location(practice, name="Library office")
    client = SyncFHIRClient(live_fhir, authorization=f"Bearer {token}")

    found = client.resources("Patient").search(family="Libtest").limit(2).fetch_all()
    assert sorted(int(p["id"]) for p in found) == [p.id for p in wanted]
    assert client.resources("Patient").search(family="Libtest").count() == 3

    one = client.reference("Patient", str(wanted[0].id)).to_resource()
    assert one["birthDate"] == wanted[0].date_of_birth.isoformat()
    assert one.get_by_path(["name", 0, "family"]) == "Libtest"

    office = client.resources("Location").search(name="library").first()
    assert office["id"] == str(location.id)


def test_fhirpy_sees_a_refusal_without_a_token(live_fhir, practice):
    client = SyncFHIRClient(live_fhir)
    with pytest.raises(AuthorizationError, match="Bearer"):
        client.resources("Patient").fetch()


def test_fhirpy_finds_a_free_slot_books_it_and_searches_the_appointment(live_fhir, practice):
    """The integrator's path: a schedule, its free slots, a booking by slot, the appointment
    found by patient and date, and the same slot refused to a second client (409)."""
    location = factories.make_location(practice, name="Uptown", timezone="America/Chicago")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    provider = factories.make_provider(practice, locations=[location], family_name="Okafor")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[exam.id])
    calendars.set_weekly_hours(
        practice_id=practice.id, provider_id=provider.id, location_id=location.id,
        intervals=[WeeklyInterval(day, time(9), time(17)) for day in range(7)])
    patients = [factories.make_patient(practice) for _ in range(2)]
    token = auth.create_token(name="fhirpy", scopes="system/*.*", practice_id=practice.id).token
    client = SyncFHIRClient(live_fhir, authorization=f"Bearer {token}")

    schedule = client.resources("Schedule").search(actor=f"Practitioner/{provider.id}").first()
    start = utcnow() + timedelta(days=2)
    slot = client.resources("Slot").search(
        schedule=f"Schedule/{schedule['id']}", status="free").search(
        start=f"ge{start:%Y-%m-%dT%H:%M:%SZ}").first()
    assert slot["status"] == "free"

    def appointment_for(patient_id: int) -> Any:
        return client.resource("Appointment", status="booked",
                               slot=[{"reference": f"Slot/{slot['id']}"}],
                               start=slot["start"], end=slot["end"], participant=[
                                   {"actor": {"reference": f"Patient/{patient_id}"},
                                    "status": "accepted"},
                                   {"actor": {"reference": f"Practitioner/{provider.id}"},
                                    "status": "accepted"}])

    booked = appointment_for(patients[0].id)
    booked.save()
    day = slot["start"][:10]
    found = client.resources("Appointment").search(
        patient=f"Patient/{patients[0].id}").search(date=f"ge{day}").search(
        date=f"le{day}").fetch_all()
    assert [a["id"] for a in found] == [booked["id"]]
    assert found[0]["start"] == slot["start"]

    with pytest.raises(OperationOutcome) as refused:
        appointment_for(patients[1].id).save()
    assert "not free" in str(refused.value)
