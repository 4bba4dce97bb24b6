"""A patient who takes a waitlist offer by replying YES gets exactly one text: the visit's
journey confirmation, with everything a confirmation has."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.messaging.models import Message, MessageStatus
from app.scheduling import booking, slots
from app.scheduling.models import Appointment
from app.scheduling.waitlist import entries
from tests import factories
from tests.journeys.kit import (
    journey_messages,
    local_day,
    run_worker_until,
    text_in,
    utc,
)


def _free_a_slot_for(clinic, patient):
    entries.join(practice_id=clinic.practice.id, patient_id=patient.id,
                 appointment_type_id=clinic.kind.id, location_id=clinic.location.id)
    db.session.commit()
    start = utc(local_day(3), "10:00")
    holder = factories.make_patient(clinic.practice)
    held = booking.book(patient_id=holder.id, slot=slots.Slot(
        start=start, end=start + timedelta(minutes=30), provider_id=clinic.provider.id,
        location_id=clinic.location.id, appointment_type_id=clinic.kind.id),
        source="staff", staff_id=clinic.staff.id)
    booking.cancel(appointment_id=held.id, reason="Moved away", source="staff",
                   staff_id=clinic.staff.id)
    offer = db.session.execute(select(Message).where(
        Message.template == "waitlist_offer", Message.patient_id == patient.id)).scalar_one()
    run_worker_until(clinic, offer.send_at + timedelta(hours=14))  # quiet hours may defer it
    db.session.refresh(offer)
    assert offer.status == MessageStatus.SENT
    return offer.sent_at


def test_a_waitlist_yes_gets_one_text_with_the_whole_confirmation(clinic):
    patient = factories.make_patient(clinic.practice)
    offered_at = _free_a_slot_for(clinic, patient)
    before = len(clinic.texts_to(patient))

    text_in(patient, "YES", at=offered_at + timedelta(minutes=5))
    run_worker_until(clinic, offered_at + timedelta(minutes=30))

    [visit] = db.session.execute(select(Appointment).where(
        Appointment.patient_id == patient.id)).scalars().all()
    after = clinic.texts_to(patient)[before:]
    assert len(after) == 1
    [text] = after
    assert "You are booked" in text
    assert "10:00 AM" in text and "Lakeside Loop" in text and "Main St" in text
    assert "Rivera" in text
    assert "Reply C to confirm, R to reschedule or N to cancel" in text
    assert "/c/" in text  # the visit page: confirm, pick another time, cancel, directions
    confirmations = [m for m in journey_messages(visit) if m.template == "journey_confirmation"]
    assert [m.status for m in confirmations if m.status != MessageStatus.CANCELLED] == [
        MessageStatus.SENT]  # the one planned on booking was cancelled, not sent later


def test_a_reply_c_to_that_text_confirms_the_visit(clinic):
    patient = factories.make_patient(clinic.practice)
    offered_at = _free_a_slot_for(clinic, patient)
    text_in(patient, "YES", at=offered_at + timedelta(minutes=5))
    run_worker_until(clinic, offered_at + timedelta(minutes=30))
    text_in(patient, "C", at=offered_at + timedelta(minutes=40))
    db.session.expire_all()
    visit = db.session.execute(select(Appointment).where(
        Appointment.patient_id == patient.id)).scalar_one()
    assert visit.confirmed_at is not None


def test_a_spanish_si_gets_the_confirmation_in_spanish(clinic):
    patient = factories.make_patient(clinic.practice, preferred_language="es")
    offered_at = _free_a_slot_for(clinic, patient)
    before = len(clinic.texts_to(patient))
    text_in(patient, "sí", at=offered_at + timedelta(minutes=5))
    run_worker_until(clinic, offered_at + timedelta(minutes=30))
    [text] = clinic.texts_to(patient)[before:]
    assert "Su cita está reservada" in text and "Lakeside Loop" in text and "Rivera" in text
    assert "Responda C para confirmar, R para cambiar la cita o N para cancelarla" in text
