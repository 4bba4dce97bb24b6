"""The waitlist: a freed slot is offered by SMS to the best-matching waiting patients, the
first YES (through the real inbound webhook) books it, later YESes hear it was taken."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging import inbound
from app.messaging.models import Message
from app.messaging.rendering import render
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import booking, calendars, slots, waitlist
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType, WaitlistEntry, WaitlistOffer
from app.security.models import StaffUser
from tests import factories
from tests.messaging.signed_webhooks import (
    WEBHOOK_SETTINGS,
    inbound_form,
    new_sid,
    post_twilio,
)

NY = ZoneInfo("America/New_York")
SMS_HOOK = "/webhooks/twilio/sms"


@pytest.fixture
def app(make_app):
    app = make_app(**WEBHOOK_SETTINGS)
    with app.app_context():
        yield app


@dataclass
class Clinic:
    practice: Practice
    location: Location
    rivera: Provider
    colleague: Provider
    exam: AppointmentType
    staff: StaffUser
    day: date  # a few days ahead: inside every booking rule


@pytest.fixture
def clinic(practice) -> Clinic:
    return make_clinic(practice)


def make_clinic(practice: Practice) -> Clinic:
    """Two providers at a New York location, working every day 09:00-17:00."""
    location = factories.make_location(practice, name="Lakeside Midtown",
                                       timezone="America/New_York")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    providers = []
    for name in ("Rivera", "Okafor"):
        provider = factories.make_provider(practice, locations=[location], family_name=name)
        calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                        appointment_type_ids=[exam.id])
        calendars.set_weekly_hours(
            practice_id=practice.id, provider_id=provider.id, location_id=location.id,
            intervals=[WeeklyInterval(day, time(9), time(17)) for day in range(7)])
        providers.append(provider)
    day = utcnow().astimezone(NY).date() + timedelta(days=3)
    return Clinic(practice, location, providers[0], providers[1], exam,
                  factories.make_staff(practice), day)


def slot_at(clinic: Clinic, hhmm: str, provider: Provider | None = None) -> slots.Slot:
    start = datetime.combine(clinic.day, time.fromisoformat(hhmm), tzinfo=NY).astimezone(UTC)
    return slots.Slot(start=start, end=start + timedelta(minutes=30),
                      provider_id=(provider or clinic.rivera).id,
                      location_id=clinic.location.id, appointment_type_id=clinic.exam.id)


def wait(clinic: Clinic, *, priority: int = 0, providers: tuple[Provider, ...] = (),
         weekdays: tuple[int, ...] | None = None, window: tuple[str, str] = ("14:00", "16:00"),
         language: str = "en") -> Patient:
    patient = factories.make_patient(clinic.practice, preferred_language=language)
    waitlist.join(patient_id=patient.id, appointment_type_id=clinic.exam.id,
                  location_id=clinic.location.id, provider_ids=[p.id for p in providers],
                  weekdays=weekdays if weekdays is not None else (clinic.day.weekday(),),
                  earliest_time=time.fromisoformat(window[0]),
                  latest_time=time.fromisoformat(window[1]), priority=priority)
    db.session.commit()
    return patient


def book_and_cancel(clinic: Clinic, slot: slots.Slot) -> None:
    holder = factories.make_patient(clinic.practice)
    appointment = booking.book(patient_id=holder.id, slot=slot, source="staff",
                               staff_id=clinic.staff.id)
    booking.cancel(appointment_id=appointment.id, reason="Moved away", source="staff",
                   staff_id=clinic.staff.id)


def offers() -> list[tuple[WaitlistOffer, int]]:
    return [(offer, patient_id) for offer, patient_id in db.session.execute(
        select(WaitlistOffer, WaitlistEntry.patient_id)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .order_by(WaitlistOffer.id))]


def offered_patients() -> list[int]:
    return [patient_id for _offer, patient_id in offers()]


def text_yes(client, patient: Patient, body: str = "Yes!") -> Message:
    assert post_twilio(client, SMS_HOOK, inbound_form(body, sender=patient.mobile_phone)
                       ).status_code == 200
    db.session.expire_all()
    return db.session.execute(select(Message).where(Message.in_reply_to_id.is_not(None))
                              .order_by(Message.id.desc())).scalars().first()


def appointments_of(patient: Patient) -> list[Appointment]:
    return list(db.session.execute(select(Appointment).where(
        Appointment.patient_id == patient.id)).scalars())


def test_a_cancellation_offers_the_slot_to_the_best_matching_waiting_patients(clinic):
    first_come = wait(clinic)
    with_rivera = wait(clinic, priority=5, providers=(clinic.rivera,))
    second_come = wait(clinic)
    wait(clinic)  # matches, but the batch of three is full
    wait(clinic, priority=9, weekdays=((clinic.day.weekday() + 1) % 7,))
    wait(clinic, priority=9, window=("08:00", "12:00"))
    wait(clinic, priority=9, providers=(clinic.colleague,))

    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    assert offered_patients() == [with_rivera.id, first_come.id, second_come.id]
    offer, _ = offers()[0]
    assert offer.status == "offered"
    assert timedelta(minutes=119) < offer.expires_at - offer.offered_at <= timedelta(minutes=120)
    message = db.session.get(Message, offer.message_id)
    assert (message.template, message.purpose, message.idempotency_key) == (
        "waitlist_offer", "appointment", f"waitlist-offer:{offer.id}")
    context = json.loads(message.context)
    text = render("waitlist_offer", channel="sms", language="en", context={
        **context, "practice": {"name": clinic.practice.name, "phone": "(312) 555-0100"}}).text
    assert text.startswith(f"{clinic.practice.name}: An earlier time opened up: ")
    assert ", 3:00 PM with Dr. Ana Rivera at Lakeside Midtown. Reply YES" in text
    assert "Exam" not in text


def test_the_batch_size_and_offer_time_are_settings(make_app, practice):
    app = make_app(WAITLIST_BATCH_SIZE="1", WAITLIST_OFFER_MINUTES="30")
    with app.app_context():
        clinic = make_clinic(practice)
        wait(clinic)
        wait(clinic)
        book_and_cancel(clinic, slot_at(clinic, "15:00"))
        [(offer, _)] = offers()
        assert offer.expires_at - offer.offered_at == timedelta(minutes=30)


def test_the_first_yes_books_and_a_later_yes_hears_it_was_taken(client, clinic):
    first = wait(clinic, priority=5)
    second = wait(clinic, priority=1)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    reply = text_yes(client, second)

    [appointment] = appointments_of(second)
    assert (appointment.start_at, appointment.provider_id, appointment.status,
            appointment.source) == (slot_at(clinic, "15:00").start, clinic.rivera.id, "booked",
                                    "patient")
    assert reply.template == "waitlist_booked" and reply.patient_id == second.id
    assert json.loads(reply.context)["provider"] == "Dr. Ana Rivera"
    statuses = {patient_id: offer.status for offer, patient_id in offers()}
    assert statuses == {first.id: "taken", second.id: "accepted"}
    entry = db.session.execute(select(WaitlistEntry).where(
        WaitlistEntry.patient_id == second.id)).scalar_one()
    assert (entry.status, entry.booked_appointment_id) == ("booked", appointment.id)

    late = text_yes(client, first, "YES")

    assert late.template == "waitlist_taken" and late.patient_id == first.id
    assert appointments_of(first) == []
    seen = {view.patient_id: view.status
            for view in waitlist.recent_offers(practice_id=clinic.practice.id)}
    assert seen == {first.id: "taken", second.id: "accepted"}


def test_an_expired_offer_is_not_honoured(client, clinic):
    patient = wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    [(offer, _)] = offers()
    offer.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    reply = text_yes(client, patient)

    assert reply.template == "waitlist_taken"
    assert appointments_of(patient) == []
    [view] = waitlist.offers_for_entry(entry_id=offer.entry_id)
    assert view.status == "expired" and view.responded_at is not None
    assert slots.slot_is_open(slot=slot_at(clinic, "15:00"))


def test_a_spanish_si_takes_the_offer(client, clinic):
    patient = wait(clinic, language="es")
    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    reply = text_yes(client, patient, "sí")

    assert reply.template == "waitlist_booked"
    assert len(appointments_of(patient)) == 1
    assert "15:00" in json.loads(reply.context)["when"]  # formatted the Spanish way


def test_a_yes_with_no_offer_goes_to_the_inbox(client, clinic):
    patient = factories.make_patient(clinic.practice)
    post_twilio(client, SMS_HOOK, inbound_form("YES", sender=patient.mobile_phone))

    message = db.session.execute(select(Message)).scalar_one()
    assert message.status_reason is None  # left for staff in the shared inbox


def test_a_rescheduled_appointment_offers_the_time_it_freed(clinic):
    patient = wait(clinic, window=("14:00", "14:00"))
    holder = factories.make_patient(clinic.practice)
    appointment = booking.book(patient_id=holder.id, slot=slot_at(clinic, "14:00"),
                               source="staff", staff_id=clinic.staff.id)

    booking.reschedule(appointment_id=appointment.id, new_slot=slot_at(clinic, "10:00"),
                       source="staff", staff_id=clinic.staff.id)

    [(offer, patient_id)] = offers()
    assert (patient_id, offer.start_at) == (patient.id, slot_at(clinic, "14:00").start)


def test_nothing_is_offered_for_a_slot_that_is_not_open(clinic):
    wait(clinic)
    holder = factories.make_patient(clinic.practice)
    slot = slot_at(clinic, "15:00")
    appointment = booking.book(patient_id=holder.id, slot=slot, source="staff",
                               staff_id=clinic.staff.id)

    assert waitlist.offer_slot(slot, practice_id=clinic.practice.id) == []  # still booked
    booking.cancel(appointment_id=appointment.id, reason="Ill", source="staff",
                   staff_id=clinic.staff.id)
    assert waitlist.offer_slot(slot, practice_id=clinic.practice.id,
                               now=slot.start - timedelta(minutes=60)) == []  # inside notice
    assert len(offers()) == 1  # the cancellation's own offer


def test_joining_names_each_bad_field(clinic):
    patient = factories.make_patient(clinic.practice)
    with pytest.raises(waitlist.WaitlistInputError) as caught:
        waitlist.join(patient_id=patient.id, appointment_type_id=clinic.exam.id,
                      location_id=clinic.location.id, provider_ids=[999999], weekdays=[7],
                      earliest_time=time(16), latest_time=time(9), source="robot")
    assert set(caught.value.errors) == {"provider_ids", "weekdays", "latest_time", "source"}


def test_a_removed_entry_is_offered_nothing(clinic):
    patient = factories.make_patient(clinic.practice)
    entry = waitlist.join(patient_id=patient.id, appointment_type_id=clinic.exam.id,
                          location_id=clinic.location.id)
    db.session.commit()
    waitlist.remove(entry_id=entry.id)
    db.session.commit()

    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    assert offers() == []


def test_simultaneous_yeses_book_the_slot_once(postgres_only, app, clinic):
    patients = [wait(clinic) for _ in range(3)]
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    senders = [patient.mobile_phone for patient in patients]
    start = threading.Barrier(len(senders))
    errors: list[BaseException] = []

    def reply_yes(sender: str) -> None:
        with app.app_context():
            start.wait()
            try:
                inbound.receive_sms(message_sid=new_sid(), sender=sender, body="YES")
            except BaseException as error:  # reported by the assertions below
                errors.append(error)

    threads = [threading.Thread(target=reply_yes, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    db.session.expire_all()
    booked = [p for p in patients if appointments_of(p)]
    assert len(booked) == 1
    replies = sorted(db.session.execute(select(Message.template).where(
        Message.in_reply_to_id.is_not(None))).scalars())
    assert replies == ["waitlist_booked", "waitlist_taken", "waitlist_taken"]
