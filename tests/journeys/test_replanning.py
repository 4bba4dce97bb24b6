"""Every change to a visit re-plans its messages through their idempotency keys; a household
sharing a phone gets one reminder per moment naming every visit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core import clock
from app.extensions import db
from app.messaging.models import MessageStatus
from app.scheduling import booking, slots
from tests import factories
from tests.journeys.kit import (
    book,
    journey_messages,
    local_day,
    run_worker_until,
    utc,
)


def reminders(visit) -> dict[str, object]:
    return {m.idempotency_key.split(":")[2]: m for m in journey_messages(visit)
            if m.template == "journey_reminder" and m.idempotency_key.startswith("j:p:")}


def test_a_visit_booked_days_ahead_gets_its_confirmation_and_three_reminders(clinic):
    visit = book(clinic, factories.make_patient(clinic.practice), local_day(6), "10:00")
    planned = reminders(visit)
    assert set(planned) == {"3d", "1d", "2h"}
    assert planned["3d"].send_at == visit.start_at - timedelta(days=3)
    assert planned["2h"].send_at == visit.start_at - timedelta(hours=2)
    assert [m.template for m in journey_messages(visit)].count("journey_confirmation") == 1


def test_a_visit_under_two_hours_away_gets_no_confirmation_and_no_past_reminders(clinic):
    now = clock.utcnow()
    start = (now + timedelta(minutes=90)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 15)
    slot = slots.Slot(start=start, end=start + timedelta(minutes=30),
                      provider_id=clinic.provider.id, location_id=clinic.location.id,
                      appointment_type_id=clinic.kind.id)
    try:
        visit = booking.book(patient_id=factories.make_patient(clinic.practice).id, slot=slot,
                             source="staff", staff_id=clinic.staff.id)
    except booking.SlotTaken:
        pytest.skip("outside the provider's hours at this moment")
    templates = [m.template for m in journey_messages(visit)]
    assert "journey_confirmation" not in templates
    assert set(reminders(visit)) <= {"2h"}


def test_moving_a_visit_re_times_its_reminders(clinic):
    visit = book(clinic, factories.make_patient(clinic.practice), local_day(6), "10:00")
    new_start = utc(local_day(8), "15:00")
    booking.reschedule(appointment_id=visit.id, new_slot=slots.Slot(
        start=new_start, end=new_start + timedelta(minutes=30), provider_id=clinic.provider.id,
        location_id=clinic.location.id, appointment_type_id=clinic.kind.id),
        source="staff", staff_id=clinic.staff.id)
    live = {m.idempotency_key.split(":")[2]: m for m in journey_messages(visit)
            if m.template == "journey_reminder" and m.status == MessageStatus.SCHEDULED
            and m.idempotency_key.startswith("j:p:")}
    assert live["3d"].send_at == new_start - timedelta(days=3)
    assert live["2h"].send_at == new_start - timedelta(hours=2)
    assert all(m.send_at >= new_start - timedelta(days=3) for m in live.values())
    run_worker_until(clinic, new_start)
    sent = [m for m in journey_messages(visit) if m.template == "journey_reminder"
            and m.status == MessageStatus.SENT]
    assert all(m.sent_at >= new_start - timedelta(days=3, minutes=1) for m in sent)


def test_cancelling_a_visit_removes_its_messages(clinic):
    visit = book(clinic, factories.make_patient(clinic.practice), local_day(6), "10:00")
    booking.cancel(appointment_id=visit.id, reason="Patient called", source="staff",
                   staff_id=clinic.staff.id)
    assert {m.status for m in journey_messages(visit)} == {MessageStatus.CANCELLED}


def test_a_practice_cancellation_sends_an_apology_with_a_booking_link(clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(6), "10:00")
    booking.cancel(appointment_id=visit.id, reason="Provider ill", source="staff",
                   staff_id=clinic.staff.id, by_practice=True)
    run_worker_until(clinic, clock.utcnow() + timedelta(hours=14))
    assert "we had to cancel" in clinic.texts_to(patient)[-1]


def test_a_household_gets_one_reminder_naming_both_visits(clinic):
    mother = factories.make_patient(clinic.practice, given_name="Rosa")
    son = factories.make_patient(clinic.practice, given_name="Leo",
                                 mobile_phone=mother.mobile_phone)
    day = local_day(5)
    first = book(clinic, mother, day, "09:00")
    second = book(clinic, son, day, "09:30")
    assert set(reminders(first)) == {"3d", "1d", "2h"}
    assert {m.id for m in reminders(first).values()} == {m.id for m in reminders(second).values()}
    run_worker_until(clinic, first.start_at)
    day_of = [text for text in clinic.texts_to(mother) if "Reminder" in text]
    assert len(day_of) == 3  # 3 days, 1 day, 2 hours: one text each, not two
    assert all("Rosa" in text and "Leo" in text for text in day_of)


def test_cancelling_one_household_visit_leaves_the_other_in_the_reminder(clinic):
    mother = factories.make_patient(clinic.practice, given_name="Rosa")
    son = factories.make_patient(clinic.practice, given_name="Leo",
                                 mobile_phone=mother.mobile_phone)
    day = local_day(5)
    first = book(clinic, mother, day, "09:00")
    second = book(clinic, son, day, "09:30")
    booking.cancel(appointment_id=first.id, reason="Patient called", source="staff",
                   staff_id=clinic.staff.id)
    db.session.expire_all()
    planned = reminders(second)
    assert planned["2h"].status == MessageStatus.SCHEDULED
    assert planned["2h"].send_at == second.start_at - timedelta(hours=2)
    run_worker_until(clinic, second.start_at)
    last = clinic.texts_to(son)[-1]
    assert "Leo" in last and "Rosa" not in last
