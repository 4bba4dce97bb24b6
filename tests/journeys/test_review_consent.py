"""A review request is marketing: it goes only by a channel on which the patient gave
marketing consent; without any, it is not sent and the message says why (on the patient's
message log). The demo practice asks its consenting patients for reviews."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core import clock
from app.demo import journeys as demo_journeys
from app.demo.seed import demo_practice, seed_demo
from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.models import ConsentEntry, Message, MessageStatus
from app.scheduling import booking
from app.scheduling.models import Appointment
from app.security.models import StaffUser
from tests import factories
from tests.journeys.kit import (
    REVIEW_URL,
    Clinic,
    allow_marketing,
    book,
    journey_messages,
    local_day,
    run_worker_until,
)


def _fulfil(visit, staff_id: int) -> None:
    with clock.frozen_at(visit.start_at + timedelta(minutes=5)):
        booking.set_status(appointment_id=visit.id, status="arrived", source="staff",
                           staff_id=staff_id)
    with clock.frozen_at(visit.start_at + timedelta(minutes=40)):
        booking.set_status(appointment_id=visit.id, status="fulfilled", source="staff",
                           staff_id=staff_id)


def _review(visit) -> Message:
    [review] = [m for m in journey_messages(visit) if m.template == "journey_review"]
    return review


def test_without_marketing_consent_no_review_request_goes_and_the_reason_is_kept(clinic):
    patient = factories.make_patient(clinic.practice)  # a mobile number and an email
    visit = book(clinic, patient, local_day(2), "09:00")
    _fulfil(visit, clinic.staff.id)
    run_worker_until(clinic, visit.start_at + timedelta(days=1))
    assert not any(REVIEW_URL in text for text in clinic.texts_to(patient))
    assert not any(REVIEW_URL in text for _at, _to, text in clinic.email.sent)
    review = _review(visit)
    assert review.status == MessageStatus.SUPPRESSED
    assert "no marketing consent for sms" in review.status_reason
    assert "no marketing consent for email" in review.status_reason


def test_with_marketing_consent_by_text_the_review_request_is_texted(clinic):
    patient = factories.make_patient(clinic.practice)
    allow_marketing(patient)
    visit = book(clinic, patient, local_day(2), "09:00")
    _fulfil(visit, clinic.staff.id)
    run_worker_until(clinic, visit.start_at + timedelta(days=1))
    assert sum(REVIEW_URL in text for text in clinic.texts_to(patient)) == 1
    assert _review(visit).status == MessageStatus.SENT


def test_consent_by_email_only_sends_it_by_email_never_by_text(clinic):
    patient = factories.make_patient(clinic.practice, preferred_channel="sms")
    consent.record(practice_id=patient.practice_id, channel="email",
                   contact_index=contact_index("email", patient.email), purpose="marketing",
                   granted=True, source="form", patient_id=patient.id)
    db.session.commit()
    visit = book(clinic, patient, local_day(2), "09:00")
    _fulfil(visit, clinic.staff.id)
    run_worker_until(clinic, visit.start_at + timedelta(days=1))
    assert not any(REVIEW_URL in text for text in clinic.texts_to(patient))
    assert sum(REVIEW_URL in text for _at, to, text in clinic.email.sent
               if to == patient.email) == 1


def test_the_demo_asks_consenting_patients_for_reviews_and_no_one_else(db):
    seed_demo()
    practice = demo_practice()
    staff = db.session.execute(select(StaffUser).where(
        StaffUser.practice_id == practice.id, StaffUser.role == "front_desk")).scalar_one()
    consenting = set(db.session.execute(select(ConsentEntry.patient_id).where(
        ConsentEntry.practice_id == practice.id, ConsentEntry.purpose == "marketing",
        ConsentEntry.channel == "sms", ConsentEntry.granted.is_(True))).scalars())
    marketing_contacts = set(db.session.execute(select(ConsentEntry.contact_index).where(
        ConsentEntry.purpose == "marketing")).scalars())

    def without_consent(visit) -> bool:  # no grant on its number or address (households)
        patient = visit.patient
        return not {contact_index("sms", patient.mobile_phone) if patient.mobile_phone else "",
                    contact_index("email", patient.email) if patient.email else ""
                    } & marketing_contacts
    upcoming = db.session.execute(select(Appointment).where(
        Appointment.practice_id == practice.id, Appointment.status == "booked",
        Appointment.start_at > clock.utcnow() + timedelta(hours=1))
        .order_by(Appointment.start_at, Appointment.id)).scalars().all()
    asked = next(v for v in upcoming if v.patient_id in consenting)
    not_asked = next(v for v in upcoming if without_consent(v)
                     and v.patient_id != asked.patient_id)
    for visit in (asked, not_asked):
        _fulfil(visit, staff.id)
    demo = Clinic(practice, asked.location, asked.provider, asked.appointment_type, staff)
    run_worker_until(demo, max(asked.start_at, not_asked.start_at) + timedelta(days=1))
    assert _review(asked).status == MessageStatus.SENT
    assert any(demo_journeys.REVIEW_URL in body for _at, to, body in demo.sms.sent
               if to == asked.patient.mobile_phone)
    assert _review(not_asked).status == MessageStatus.SUPPRESSED
    assert "no marketing consent" in _review(not_asked).status_reason
