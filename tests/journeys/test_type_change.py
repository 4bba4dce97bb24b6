"""Changing a visit's type re-plans its journey by the new type's rules: the steps only the
old type had are cancelled (never sent), the ones the new type has are (re)timed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.journeys.models import JourneyRule
from app.messaging.models import MessageStatus
from app.scheduling import booking, calendars, slots
from tests import factories
from tests.journeys.kit import book, journey_messages, local_day, make_clinic, run_worker_until, utc


@pytest.fixture
def clinic(practice):
    clinic = make_clinic(practice)
    surgery = factories.make_appointment_type(practice, name="Surgery consult",
                                              duration_minutes=30)
    calendars.set_appointment_types(practice_id=practice.id, provider_id=clinic.provider.id,
                                    appointment_type_ids=[clinic.kind.id, surgery.id])
    # the old type: a 5-day text and email and a 6-hour text, and the 1-day text (no email)
    db.session.add(JourneyRule(practice_id=practice.id, appointment_type_id=surgery.id,
                               reminders="5d:sms+email 1d:sms 6h:sms"))
    db.session.commit()
    clinic.surgery = surgery
    return clinic


def _reminders(visit, status=None):
    return {m.idempotency_key: m for m in journey_messages(visit)
            if m.template == "journey_reminder" and (status is None or m.status == status)}


def _slot(clinic, start, kind):
    return slots.Slot(start=start, end=start + timedelta(minutes=30),
                      provider_id=clinic.provider.id, location_id=clinic.location.id,
                      appointment_type_id=kind.id)


def test_a_type_change_cancels_the_old_types_own_steps_and_times_the_new_ones(clinic):
    patient = factories.make_patient(clinic.practice)
    start = utc(local_day(8), "10:00")
    visit = booking.book(patient_id=patient.id, slot=_slot(clinic, start, clinic.surgery),
                         source="staff", staff_id=clinic.staff.id)
    planned = {key.split(":")[2] if key.startswith("j:p:") else key.split(":")[2] + ":email"
               for key in _reminders(visit, MessageStatus.SCHEDULED)}
    assert planned == {"5d", "5d:email", "1d", "6h"}

    booking.reschedule(appointment_id=visit.id, new_slot=_slot(clinic, start, clinic.kind),
                       source="staff", staff_id=clinic.staff.id)

    live = _reminders(visit, MessageStatus.SCHEDULED)
    by_step = {(key.split(":")[2], "sms" if key.startswith("j:p:") else "email"): m
               for key, m in live.items()}
    assert set(by_step) == {("3d", "sms"), ("1d", "sms"), ("1d", "email"), ("2h", "sms")}
    assert by_step[("3d", "sms")].send_at == start - timedelta(days=3)
    assert by_step[("1d", "email")].send_at == start - timedelta(days=1)
    assert by_step[("2h", "sms")].send_at == start - timedelta(hours=2)
    gone = {key for key, m in _reminders(visit).items() if m.status == MessageStatus.CANCELLED}
    assert any(":5d:" in key and key.startswith("j:p:") for key in gone)
    assert any(key.endswith(":5d:email") for key in gone)
    assert any(":6h:" in key for key in gone)

    run_worker_until(clinic, start)
    sent = [m for m in journey_messages(visit)
            if m.template == "journey_reminder" and m.status == MessageStatus.SENT]
    assert sorted(m.send_at for m in sent) == sorted(
        [start - timedelta(days=3), start - timedelta(days=1), start - timedelta(days=1),
         start - timedelta(hours=2)])


def test_a_type_and_time_change_together_re_times_the_shared_step(clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(8), "10:00")  # the default journey's type
    new_start = utc(local_day(9), "15:00")
    booking.reschedule(appointment_id=visit.id,
                       new_slot=_slot(clinic, new_start, clinic.surgery),
                       source="staff", staff_id=clinic.staff.id)
    live = {(key.split(":")[2], "sms" if key.startswith("j:p:") else "email"): m
            for key, m in _reminders(visit, MessageStatus.SCHEDULED).items()}
    assert set(live) == {("5d", "sms"), ("5d", "email"), ("1d", "sms"), ("6h", "sms")}
    assert live[("1d", "sms")].send_at == new_start - timedelta(days=1)
    assert live[("5d", "email")].send_at == new_start - timedelta(days=5)
    assert not any(m.status == MessageStatus.SCHEDULED and ":3d:" in key
                   for key, m in _reminders(visit).items())
