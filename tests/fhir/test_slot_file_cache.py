"""The published slot files are computed at most once a minute per process, and again right
after a booking commits (app/fhir/slot_file_cache.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import clock
from app.core.clock import utcnow
from app.scheduling import booking, online
from tests import factories
from tests.fhir.test_scheduling_links import _slots_at, office  # noqa: F401


def test_a_change_outside_booking_shows_once_the_minute_is_over(
        client, office, practice):  # noqa: F811
    before = _slots_at(client, office.chicago, office.cleaning)
    start = min(before)
    patient = factories.make_patient(practice)
    factories.make_appointment(patient, office.rivera, office.chicago,  # no booking event
                               start_at=datetime.fromisoformat(start).astimezone(UTC),
                               appointment_type=office.cleaning)
    assert _slots_at(client, office.chicago, office.cleaning)[start] == 2  # the cached file
    with clock.frozen_at(utcnow() + timedelta(seconds=61)):
        assert _slots_at(client, office.chicago, office.cleaning)[start] == 1


def test_a_booking_empties_the_cache_when_it_commits(client, office, practice):  # noqa: F811
    before = _slots_at(client, office.chicago, office.cleaning)
    slot = online.open_slots(kind=office.cleaning, location=office.chicago,
                                   provider_id=None)[0]
    start = next(s for s in before if datetime.fromisoformat(s) == slot.start)
    assert before[start] == 2
    staff = factories.make_staff(practice)
    booking.book(patient_id=factories.make_patient(practice).id, slot=slot, source="staff",
                 staff_id=staff.id)
    assert _slots_at(client, office.chicago, office.cleaning)[start] == 1

