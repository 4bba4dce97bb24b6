"""Replies to journey messages through the real inbound router: C confirms, N cancels only
after the check (and the freed time reaches the waitlist), CANCEL stays an opt-out, and what
is unclear goes to staff with the likely action."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.models import ContactPointStatus, Conversation, Message
from app.scheduling.models import Appointment, WaitlistOffer
from app.scheduling.waitlist import entries as waitlist_entries
from tests import factories
from tests.journeys.kit import book, local_day, run_worker_until, text_in


@pytest.fixture
def reminded(clinic):
    """A patient whose 3-day reminder has just been sent."""
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(5), "10:00")
    run_worker_until(clinic, visit.start_at - timedelta(days=3))
    return patient, visit, visit.start_at - timedelta(days=3) + timedelta(minutes=20)


def reload(appointment: Appointment) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id)


def inbound(body: str) -> Message:
    db.session.expire_all()
    received = db.session.execute(select(Message).where(Message.direction == "inbound")
                                  .order_by(Message.id.desc())).scalars()
    return next(message for message in received if message.body == body)


def last_reply_text(clinic, patient, at) -> str:
    run_worker_until(clinic, at + timedelta(minutes=5))
    return clinic.texts_to(patient)[-1]


@pytest.mark.parametrize("body", ["C", "confirm", "yes", "👍", "Sí, confirmo", "ill be there"])
def test_confirmations_confirm_the_visit_and_the_schedule_shows_it(clinic, reminded, body):
    patient, visit, at = reminded
    text_in(patient, body, at=at)
    assert reload(visit).confirmed_at is not None
    assert reload(visit).patient_status == "accepted"
    assert "Thank you, confirmed" in last_reply_text(clinic, patient, at)


def test_n_cancels_only_after_the_second_n_and_the_time_reaches_the_waitlist(clinic, reminded):
    patient, visit, at = reminded
    waiting = factories.make_patient(clinic.practice)
    waitlist_entries.join(practice_id=clinic.practice.id, patient_id=waiting.id,
                          appointment_type_id=clinic.kind.id, location_id=clinic.location.id,
                          earliest_time=time(0, 0), latest_time=time(23, 59))
    db.session.commit()
    text_in(patient, "N", at=at)
    assert reload(visit).status == "booked"
    check = last_reply_text(clinic, patient, at)
    assert "Reply N again to cancel your visit on" in check
    text_in(patient, "N", at=at + timedelta(minutes=10))
    assert reload(visit).status == "cancelled"
    assert "is cancelled" in last_reply_text(clinic, patient, at + timedelta(minutes=10))
    offered = db.session.execute(select(WaitlistOffer)).scalars().all()
    assert [offer.start_at for offer in offered] == [visit.start_at]


def test_a_plain_no_asks_before_cancelling_and_a_no_to_the_check_goes_to_staff(clinic, reminded):
    patient, visit, at = reminded
    text_in(patient, "no, I can't make it", at=at)
    assert "Reply N again" in last_reply_text(clinic, patient, at)
    text_in(patient, "no", at=at + timedelta(minutes=10))
    assert reload(visit).status == "booked"
    left = inbound("no")
    assert left.suggested_action == "no" and left.conversation.unread
    assert left.needs_staff_action  # under the inbox's "needs action"


@pytest.mark.parametrize("body", ["CANCEL", "cancel", " Cancel."])
def test_cancel_opts_the_number_out_and_leaves_the_visit_booked(clinic, reminded, body):
    patient, visit, at = reminded
    text_in(patient, body, at=at)
    assert reload(visit).status == "booked"
    assert consent.is_opted_out(practice_id=clinic.practice.id, channel="sms",
                                contact_index=contact_index("sms", patient.mobile_phone))


def test_a_reschedule_wish_gets_the_link_and_is_shown_to_staff(clinic, reminded):
    patient, visit, at = reminded
    text_in(patient, "can we move it to Friday?", at=at)
    text = last_reply_text(clinic, patient, at)
    assert "http://localhost/m/" in text  # the visit's reschedule link (test_reschedule_link)
    left = inbound("can we move it to Friday?")
    assert left.suggested_action == "reschedule" and left.conversation.unread
    assert reload(visit).status == "booked"


def test_running_late_is_marked_on_the_visit(clinic, reminded):
    patient, visit, at = reminded
    text_in(patient, "running 10 min late", at=at)
    assert reload(visit).running_late_minutes == 10
    assert reload(visit).running_late_at is not None


def test_wrong_number_flags_the_number_for_staff(clinic, reminded):
    patient, _visit, at = reminded
    text_in(patient, "wrong number", at=at)
    status = db.session.execute(select(ContactPointStatus)).scalar_one()
    assert (status.usable, status.reason) == (False, "wrong_number")
    assert inbound("wrong number").suggested_action == "wrong_number"


def test_what_is_not_understood_goes_to_staff_without_an_invalid_response(clinic, reminded):
    patient, visit, at = reminded
    count = len(clinic.texts_to(patient))
    text_in(patient, "don't confirm yet", at=at)
    run_worker_until(clinic, at + timedelta(minutes=5))
    assert len(clinic.texts_to(patient)) == count
    assert reload(visit).confirmed_at is None
    conversation = db.session.execute(select(Conversation)).scalar_one()
    assert conversation.unread


def test_a_household_c_to_a_shared_reminder_goes_to_staff_suggesting_confirm(clinic):
    mother = factories.make_patient(clinic.practice, given_name="Rosa")
    son = factories.make_patient(clinic.practice, given_name="Leo",
                                 mobile_phone=mother.mobile_phone)
    day = local_day(5)
    first = book(clinic, mother, day, "09:00")
    second = book(clinic, son, day, "09:30")
    run_worker_until(clinic, first.start_at - timedelta(days=3))
    text_in(mother, "C", at=first.start_at - timedelta(days=3, minutes=-20))
    assert reload(first).confirmed_at is None and reload(second).confirmed_at is None
    assert inbound("C").suggested_action == "confirm"


def test_a_yes_with_nothing_to_confirm_is_left_for_staff(clinic):
    patient = factories.make_patient(clinic.practice)
    with clock.frozen_at(clock.utcnow()):
        text_in(patient, "yes", at=clock.utcnow())
    assert inbound("yes").conversation.unread
