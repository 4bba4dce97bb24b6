"""A visit's whole journey with the clock moving and a worker sending: booking, confirmation,
reminders, the patient's C, check-in, the review request; none after a no-show."""

from __future__ import annotations

from datetime import timedelta

from app.core import clock
from app.extensions import db
from app.messaging.models import Message, MessageStatus
from app.scheduling import booking
from app.scheduling.models import Appointment
from tests import factories
from tests.journeys.kit import (
    REVIEW_URL,
    allow_marketing,
    book,
    journey_messages,
    local_day,
    run_worker_until,
    text_in,
    utc,
)


def test_book_confirm_remind_reply_c_check_in_and_review(clinic):
    patient = factories.make_patient(clinic.practice)
    allow_marketing(patient)
    day = local_day(5)
    visit = book(clinic, patient, day, "10:00")
    start = visit.start_at

    run_worker_until(clinic, clock.utcnow() + timedelta(hours=20))
    texts = clinic.texts_to(patient)
    assert len(texts) == 1 and "You are booked" in texts[0]
    assert "Lakeside Loop" in texts[0] and "Main St" in texts[0] and "Rivera" in texts[0]
    assert "Reply C to confirm" in texts[0]

    run_worker_until(clinic, start - timedelta(days=3))
    reminder = clinic.texts_to(patient)[-1]
    assert reminder.startswith("Lakeside Family Dental: Reminder:")
    assert "Reply C to confirm" in reminder

    text_in(patient, "C", at=start - timedelta(days=3) + timedelta(minutes=30))
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).confirmed_at is not None
    run_worker_until(clinic, start - timedelta(days=3) + timedelta(hours=1))
    assert "Thank you, confirmed" in clinic.texts_to(patient)[-1]

    run_worker_until(clinic, start - timedelta(minutes=90))
    later = clinic.texts_to(patient)[-2:]  # the day-before and the 2-hour reminder
    assert all(text.startswith("Lakeside Family Dental: Reminder:") for text in later)
    assert all("Reply C" not in text and "You are confirmed" in text for text in later)
    assert len(clinic.email.sent) == 1  # the day-before reminder goes by email too

    with clock.frozen_at(start + timedelta(minutes=5)):
        booking.set_status(appointment_id=visit.id, status="checked-in", source="staff",
                           staff_id=clinic.staff.id)
    with clock.frozen_at(start + timedelta(minutes=40)):
        booking.set_status(appointment_id=visit.id, status="fulfilled", source="staff",
                           staff_id=clinic.staff.id)
    count = len(clinic.texts_to(patient))
    run_worker_until(clinic, start + timedelta(hours=2))
    assert len(clinic.texts_to(patient)) == count  # the delay has not passed
    run_worker_until(clinic, start + timedelta(days=1))
    review = clinic.texts_to(patient)[-1]
    assert REVIEW_URL in review
    sent = [m.template for m in journey_messages(visit) if m.status == MessageStatus.SENT]
    assert sent.count("journey_review") == 1
    assert sent.count("journey_reminder") == 4  # 3 days, 1 day (text and email), 2 hours


def test_a_no_show_gets_we_missed_you_and_never_a_review_request(clinic):
    patient = factories.make_patient(clinic.practice)
    allow_marketing(patient)
    visit = book(clinic, patient, local_day(3), "11:00")
    with clock.frozen_at(visit.start_at + timedelta(minutes=45)):
        booking.set_status(appointment_id=visit.id, status="noshow", source="staff",
                           staff_id=clinic.staff.id)
    run_worker_until(clinic, visit.start_at + timedelta(days=3))
    texts = clinic.texts_to(patient)
    assert "We missed you" in texts[-1] and "/book/day?" in texts[-1]
    assert not any(REVIEW_URL in text for text in texts)
    templates = {m.template for m in journey_messages(visit)}
    assert "journey_review" not in templates


def test_a_review_request_goes_once_per_period(clinic):
    patient = factories.make_patient(clinic.practice)
    allow_marketing(patient)
    first = book(clinic, patient, local_day(2), "09:00")
    second = book(clinic, patient, local_day(4), "09:00")
    for visit in (first, second):
        with clock.frozen_at(visit.start_at + timedelta(minutes=30)):
            booking.set_status(appointment_id=visit.id, status="arrived", source="staff",
                               staff_id=clinic.staff.id)
            booking.set_status(appointment_id=visit.id, status="fulfilled", source="staff",
                               staff_id=clinic.staff.id)
    run_worker_until(clinic, second.start_at + timedelta(days=1))
    assert sum(REVIEW_URL in text for text in clinic.texts_to(patient)) == 1


def test_reminders_due_in_quiet_hours_go_at_the_windows_opening(clinic):
    patient = factories.make_patient(clinic.practice)
    day = local_day(4)
    visit = book(clinic, patient, day, "09:00")  # its 2-hour reminder is due at 07:00
    run_worker_until(clinic, visit.start_at)
    two_hour = next(m for m in journey_messages(visit)
                    if m.idempotency_key.startswith("j:p:2h:"))
    assert two_hour.status == MessageStatus.SENT
    opening = utc(day, "08:00")
    assert opening <= two_hour.sent_at < opening + timedelta(minutes=1)


def test_a_two_hour_reminder_is_not_sent_after_the_visit_started(clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(2), "14:00")
    run_worker_until(clinic, visit.start_at - timedelta(days=1))  # then the worker stops
    with clock.frozen_at(visit.start_at + timedelta(minutes=10)):
        from app.messaging import dispatcher

        dispatcher.run_once(clinic.providers)
    db.session.expire_all()
    two_hour = next(m for m in journey_messages(visit)
                    if m.idempotency_key.startswith("j:p:2h:"))
    assert two_hour.status == MessageStatus.CANCELLED
    assert "started" in two_hour.status_reason
    assert db.session.query(Message).filter(Message.status == MessageStatus.SENDING).count() == 0
