"""Waitlist offers and their texts' sending: the offer's window starts when the text goes, not
when it is queued (quiet hours may hold it until morning), and an offer whose time is gone is
withdrawn with its text (issue 12, defects 1 and 2)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.messaging import dispatcher
from app.messaging.cli import build_providers
from app.messaging.models import Message
from app.scheduling import booking, calendars
from app.scheduling.models import WaitlistOffer
from app.scheduling.waitlist import offers as waitlist_offers
from tests import factories
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS
from tests.scheduling.test_waitlist import (
    NY,
    Clinic,
    book_and_cancel,
    make_clinic,
    slot_at,
    text_yes,
    wait,
)

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def clinic(practice) -> Clinic:
    return make_clinic(practice)


def the_night_before(clinic: Clinic) -> datetime:
    """4:35 AM the day before the clinic's day, in New York: quiet hours everywhere in the US."""
    return datetime.combine(clinic.day - timedelta(days=1), time(4, 35), tzinfo=NY)


def offer_text() -> Message:
    db.session.expire_all()
    return db.session.execute(select(Message).where(
        Message.template == "waitlist_offer")).scalar_one()


def the_offer() -> WaitlistOffer:
    db.session.expire_all()
    return db.session.execute(select(WaitlistOffer)).scalar_one()


def test_the_offer_window_starts_when_the_held_text_is_sent(clinic):
    wait(clinic)
    night = the_night_before(clinic)
    with clock.frozen_at(night):
        book_and_cancel(clinic, slot_at(clinic, "15:00"))  # an overnight cancellation
        assert dispatcher.run_once(build_providers()).deferred == 1
        held_until = offer_text().send_at
        assert offer_text().status == "scheduled" and held_until > night  # quiet hours
        # the queued offer does not run out while its text waits
        assert waitlist_offers.expire_offers(now=night + timedelta(minutes=121)) == 0
        assert the_offer().status == "offered"

    with clock.frozen_at(held_until):
        stats = dispatcher.run_once(build_providers())
        assert stats.sent == 1 and offer_text().status == "sent"
        offer = the_offer()
        sent_at = offer_text().sent_at
        assert held_until <= offer.offered_at <= sent_at  # when it was about to go
        assert offer.expires_at == offer.offered_at + timedelta(minutes=120)
        assert waitlist_offers.expire_offers(now=held_until + timedelta(minutes=119)) == 0
        assert waitlist_offers.expire_offers(now=sent_at + timedelta(minutes=121)) == 1


def test_a_held_offer_whose_time_is_booked_online_is_withdrawn_and_its_text_cancelled(
        clinic):
    wait(clinic)
    night = the_night_before(clinic)
    with clock.frozen_at(night):
        book_and_cancel(clinic, slot_at(clinic, "15:00"))
        dispatcher.run_once(build_providers())
        held_until = offer_text().send_at
        someone = factories.make_patient(clinic.practice)
        booking.book(patient_id=someone.id, slot=slot_at(clinic, "15:00"), source="patient")

        assert the_offer().status == "taken"
        assert offer_text().status == "cancelled"
    with clock.frozen_at(held_until):
        dispatcher.run_once(build_providers())
    assert offer_text().status == "cancelled"
    # what went at the window's opening is the new booking's own confirmation, no waitlist text
    went = db.session.execute(select(Message.template, Message.patient_id).where(
        Message.status == "sent")).all()
    assert [patient for _, patient in went] == [someone.id]
    assert not any(template.startswith("waitlist") for template, _ in went)


def test_a_held_offer_whose_time_closed_otherwise_is_not_sent(clinic):
    """Time off over the offered time (no booking event): the check at send time withdraws
    the offer and cancels its text."""
    wait(clinic)
    night = the_night_before(clinic)
    with clock.frozen_at(night):
        book_and_cancel(clinic, slot_at(clinic, "15:00"))
        dispatcher.run_once(build_providers())
        held_until = offer_text().send_at
        calendars.add_time_off(practice_id=clinic.practice.id, provider_id=clinic.rivera.id,
                               starts_at=slot_at(clinic, "14:00").start,
                               ends_at=slot_at(clinic, "16:00").start, label="Training")
    with clock.frozen_at(held_until):
        dispatcher.run_once(build_providers())
    assert offer_text().status == "cancelled"
    assert offer_text().status_reason == "the offered time is no longer open"
    assert the_offer().status == "taken"


@pytest.mark.clock("2026-06-10T17:00:00+00:00")  # 1 PM in New York: texts go at once
def test_a_yes_after_a_public_booking_took_the_time_hears_it_was_taken(client, clinic):
    patient = wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    dispatcher.run_once(build_providers())
    assert offer_text().status == "sent"
    someone = factories.make_patient(clinic.practice)
    taken_by = booking.book(patient_id=someone.id, slot=slot_at(clinic, "15:00"),
                            source="patient")

    reply = text_yes(client, patient)

    assert reply.template == "waitlist_taken"
    assert the_offer().status == "taken"
    assert taken_by.patient_id == someone.id
