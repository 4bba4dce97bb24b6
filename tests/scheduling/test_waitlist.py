"""The waitlist: a freed slot is offered by SMS to the best-matching waiting patients, the
first YES (through the real inbound webhook) books it, later YESes hear it was taken."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.core.clock import utcnow
from app.extensions import db
from app.journeys.render import build_context
from app.messaging import inbound
from app.messaging.models import Message
from app.messaging.rendering import render
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import booking, calendars, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType, WaitlistEntry, WaitlistOffer
from app.scheduling.waitlist import entries as waitlist_entries
from app.scheduling.waitlist import intent as waitlist_intent
from app.scheduling.waitlist import offers as waitlist_offers
from app.scheduling.waitlist import queries as waitlist_queries
from app.scheduling.waitlist import states as waitlist_states
from app.security.models import StaffUser
from tests import factories
from tests.factories import DEPLOYMENT_NUMBER
from tests.messaging.signed_webhooks import (
    WEBHOOK_SETTINGS,
    inbound_form,
    new_sid,
    post_twilio,
)

NY = ZoneInfo("America/New_York")
SMS_HOOK = "/webhooks/twilio/sms"


pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


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
    waitlist_entries.join(practice_id=clinic.practice.id, patient_id=patient.id,
                  appointment_type_id=clinic.exam.id, location_id=clinic.location.id,
                  provider_ids=[p.id for p in providers],
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
    zone = offer.start_at.astimezone(ZoneInfo(clinic.location.timezone)).strftime("%Z")
    assert f", 3:00 PM {zone} with Dr. Ana Rivera at Lakeside Midtown. Reply YES" in text
    # The visit's location's phone (factories: 555-0101), not the practice's main number.
    assert text.endswith("Questions? Call (312) 555-0101.")
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
    # the one answer is the visit's journey confirmation (tests/journeys/test_waitlist_yes.py)
    assert reply.template == "journey_confirmation" and reply.patient_id == second.id
    assert json.loads(reply.context)["appointment_ids"] == [appointment.id]
    assert build_context(reply, "en")["visits"][0]["provider"] == "Dr. Ana Rivera"
    statuses = {patient_id: offer.status for offer, patient_id in offers()}
    assert statuses == {first.id: "taken", second.id: "accepted"}
    entry = db.session.execute(select(WaitlistEntry).where(
        WaitlistEntry.patient_id == second.id)).scalar_one()
    assert (entry.status, entry.booked_appointment_id) == ("booked", appointment.id)

    late = text_yes(client, first, "YES")

    assert late.template == "waitlist_taken" and late.patient_id == first.id
    assert appointments_of(first) == []
    seen = {view.patient_id: view.status
            for view in waitlist_queries.recent_offers(practice_id=clinic.practice.id)}
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
    [view] = waitlist_queries.offers_for_entry(entry_id=offer.entry_id)
    assert view.status == "expired" and view.responded_at is not None
    assert slots.slot_is_open(slot=slot_at(clinic, "15:00"))


def test_a_spanish_si_takes_the_offer(client, clinic):
    patient = wait(clinic, language="es")
    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    reply = text_yes(client, patient, "sí")

    assert reply.template == "journey_confirmation"
    assert len(appointments_of(patient)) == 1
    assert "15:00" in build_context(reply, "es")["visits"][0]["when"]  # the Spanish way


def test_without_a_booked_reply_hook_the_waitlist_answers_with_its_own_text(
        client, clinic, monkeypatch):
    monkeypatch.setattr(waitlist_intent, "_booked_reply", [])
    patient = wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    reply = text_yes(client, patient)

    assert reply.template == "waitlist_booked"
    assert json.loads(reply.context)["provider"] == "Dr. Ana Rivera"


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

    assert waitlist_offers.offer_slot(slot, practice_id=clinic.practice.id) == []  # still booked
    booking.cancel(appointment_id=appointment.id, reason="Ill", source="staff",
                   staff_id=clinic.staff.id)
    assert waitlist_offers.offer_slot(slot, practice_id=clinic.practice.id,
                               now=slot.start - timedelta(minutes=60)) == []  # inside notice
    assert len(offers()) == 1  # the cancellation's own offer


def test_joining_names_each_bad_field(clinic):
    patient = factories.make_patient(clinic.practice)
    with pytest.raises(waitlist_states.WaitlistInputError) as caught:
        waitlist_entries.join(practice_id=clinic.practice.id, patient_id=patient.id,
                      appointment_type_id=clinic.exam.id, location_id=clinic.location.id,
                      provider_ids=[999999], weekdays=[7],
                      earliest_time=time(16), latest_time=time(9), source="robot")
    assert set(caught.value.errors) == {"provider_ids", "weekdays", "latest_time", "source"}


def test_a_removed_entry_is_offered_nothing(clinic):
    patient = factories.make_patient(clinic.practice)
    entry = waitlist_entries.join(practice_id=clinic.practice.id, patient_id=patient.id,
                          appointment_type_id=clinic.exam.id, location_id=clinic.location.id)
    db.session.commit()
    waitlist_entries.remove(practice_id=clinic.practice.id, entry_id=entry.id)
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
                inbound.receive_sms(message_sid=new_sid(), sender=sender, body="YES",
                                    to=DEPLOYMENT_NUMBER)
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
    assert replies == ["journey_confirmation", "waitlist_taken", "waitlist_taken"]


def entry_of(patient: Patient) -> WaitlistEntry:
    return db.session.execute(select(WaitlistEntry).where(
        WaitlistEntry.patient_id == patient.id)).scalar_one()


def statuses_by_patient() -> dict[int, str]:
    return {patient_id: offer.status for offer, patient_id in offers()}


def test_waiting_entries_list_what_the_screen_shows_in_offer_order(clinic):
    from app.security.models import AuditEvent

    later = factories.make_location(clinic.practice, name="Uptown", timezone="America/Chicago")
    first = wait(clinic, providers=(clinic.rivera,))
    urgent = wait(clinic, priority=5, weekdays=(0, 2), window=("08:30", "11:00"))
    elsewhere = factories.make_patient(clinic.practice)
    waitlist_entries.join(practice_id=clinic.practice.id, patient_id=elsewhere.id,
                  appointment_type_id=clinic.exam.id, location_id=later.id)
    db.session.commit()
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    audited = db.session.execute(select(func.count(AuditEvent.id))).scalar_one()

    entries = waitlist_queries.waiting_entries(practice_id=clinic.practice.id)

    assert [e.patient_id for e in entries] == [urgent.id, first.id, elsewhere.id]
    top, second, third = entries
    assert top.patient_name == f"{urgent.family_name}, {urgent.given_name}"
    assert (top.appointment_type_name, top.location_name, top.provider_names) == (
        "Exam", "Lakeside Midtown", ())
    assert (top.weekdays, top.earliest_time, top.latest_time, top.priority) == (
        (0, 2), time(8, 30), time(11), 5)
    assert second.provider_names == ("Dr. Ana Rivera",)
    assert top.created_at.tzinfo == NY and third.created_at.tzinfo == ZoneInfo("America/Chicago")
    assert third.weekdays == tuple(range(7)) and third.earliest_time is None
    # the 15:00 opening matched ``first`` only (``urgent`` wants mornings)
    assert top.latest_offer is None and third.latest_offer is None
    assert (second.latest_offer.status, second.latest_offer.start_at) == (
        "offered", slot_at(clinic, "15:00").start)
    assert second.latest_offer.start_at.tzinfo == NY
    events = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)
                                .offset(audited)).scalars().all()
    # one event per patient shown, so "who saw that X is waiting" has an answer
    assert [(e.action, e.object_type, e.patient_id) for e in events] == [
        ("appointment.view", "waitlist_entry", patient.id)
        for patient in (urgent, first, elsewhere)]
    assert [json.loads(e.detail)["entry_ids"] for e in events] == [[e.entry_id]
                                                                   for e in entries]

    only_later = waitlist_queries.waiting_entries(practice_id=clinic.practice.id,
                                                  location_id=later.id)
    assert [e.patient_id for e in only_later] == [elsewhere.id]
    other = factories.make_practice()
    assert waitlist_queries.waiting_entries(practice_id=other.id) == []


def offer_texts_sent() -> None:
    """As if the worker had sent every queued offer text at once (by day, no quiet hours):
    an offer runs from its text's sending."""
    db.session.execute(update(Message).where(
        Message.template == "waitlist_offer", Message.status == "scheduled").values(
        status="sent", sent_at=utcnow()))
    db.session.commit()


def sweep(now: datetime | None = None) -> int:
    """The scheduler's sweep, the offer texts queued so far sent first."""
    offer_texts_sent()
    return waitlist_offers.expire_offers(now=now)


def test_expire_offers_marks_them_expired_and_offers_the_slot_to_the_next_batch(
        make_app, practice):
    app = make_app(WAITLIST_BATCH_SIZE="2", WAITLIST_OFFER_MINUTES="30")
    with app.app_context():
        clinic = make_clinic(practice)
        first, second, third, fourth = (wait(clinic, priority=p) for p in (9, 8, 7, 6))
        book_and_cancel(clinic, slot_at(clinic, "15:00"))
        assert offered_patients() == [first.id, second.id]

        assert sweep(now=utcnow() + timedelta(minutes=29)) == 0
        later = utcnow() + timedelta(minutes=31)
        assert sweep(now=later) == 2

        db.session.expire_all()
        assert offered_patients() == [first.id, second.id, third.id, fourth.id]
        assert statuses_by_patient() == {first.id: "expired", second.id: "expired",
                                         third.id: "offered", fourth.id: "offered"}
        new = [offer for offer, _ in offers()[2:]]
        assert {o.offered_at for o in new} == {later}
        assert all(o.expires_at == later + timedelta(minutes=30) for o in new)
        texts = db.session.execute(select(Message.patient_id).where(
            Message.template == "waitlist_offer")).scalars().all()
        assert sorted(texts) == sorted([first.id, second.id, third.id, fourth.id])

        assert sweep(now=later) == 0  # idempotent: nothing more to do
        assert len(offers()) == 4
        # the second batch lapses too: nobody is left who was not offered it already
        assert sweep(now=later + timedelta(minutes=31)) == 2
        db.session.expire_all()
        assert len(offers()) == 4
        assert set(statuses_by_patient().values()) == {"expired"}


def test_expire_offers_waits_while_part_of_the_batch_can_still_answer(clinic):
    first, second, third = wait(clinic, priority=9), wait(clinic, priority=8), wait(clinic)
    fourth = wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    early = next(offer for offer, patient_id in offers() if patient_id == first.id)
    early.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    assert sweep() == 1

    db.session.expire_all()
    assert statuses_by_patient() == {first.id: "expired", second.id: "offered",
                                     third.id: "offered"}
    assert fourth.id not in offered_patients()


def test_a_slot_booked_meanwhile_withdraws_its_offers_and_is_offered_to_nobody_else(clinic):
    waiting = wait(clinic)
    next_in_line = wait(clinic)
    wait(clinic)
    wait(clinic)  # would be the next batch
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    holder = factories.make_patient(clinic.practice)
    booking.book(patient_id=holder.id, slot=slot_at(clinic, "15:00"), source="staff",
                 staff_id=clinic.staff.id)

    assert sweep(now=utcnow() + timedelta(minutes=121)) == 0

    db.session.expire_all()
    assert len(offers()) == 3
    assert set(statuses_by_patient().values()) == {"taken"}
    assert statuses_by_patient()[waiting.id] == statuses_by_patient()[next_in_line.id]


def test_a_taken_slot_is_left_alone_by_the_sweep(client, clinic):
    winner, loser = wait(clinic, priority=5), wait(clinic)
    wait(clinic)  # not offered: the batch is two
    client.application.config["WAITLIST_BATCH_SIZE"] = 2
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    text_yes(client, winner)

    assert sweep(now=utcnow() + timedelta(minutes=121)) == 0

    db.session.expire_all()
    assert statuses_by_patient() == {winner.id: "accepted", loser.id: "taken"}


def test_a_patient_shown_twice_on_the_waitlist_is_audited_once_with_both_entries(clinic):
    from app.security.models import AuditEvent

    uptown = factories.make_location(clinic.practice, name="Uptown")
    patient = wait(clinic)
    second = waitlist_entries.join(practice_id=clinic.practice.id, patient_id=patient.id,
                           appointment_type_id=clinic.exam.id, location_id=uptown.id)
    db.session.commit()

    entries = waitlist_queries.waiting_entries(practice_id=clinic.practice.id)

    [event] = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "appointment.view")).scalars().all()
    assert event.patient_id == patient.id
    assert len(entries) == 2 and second.id in {e.entry_id for e in entries}
    assert json.loads(event.detail)["entry_ids"] == [e.entry_id for e in entries]


def test_a_second_waiting_entry_for_the_same_type_and_location_is_refused(clinic):
    patient = wait(clinic)
    with pytest.raises(waitlist_states.WaitlistInputError) as caught:
        waitlist_entries.add_entry(practice_id=clinic.practice.id, patient_id=patient.id,
                           appointment_type_id=clinic.exam.id, location_id=clinic.location.id)
    assert caught.value.errors == {
        "patient_id": "This patient is already waiting for Exam at Lakeside Midtown."}
    assert db.session.execute(select(func.count(WaitlistEntry.id))).scalar_one() == 1


def test_the_next_batch_skips_a_patient_offered_the_slot_through_another_entry(
        make_app, practice):
    app = make_app(WAITLIST_BATCH_SIZE="1")
    with app.app_context():
        clinic = make_clinic(practice)
        twice = wait(clinic, priority=9)
        first = entry_of(twice)
        db.session.add(WaitlistEntry(  # a duplicate from before join refused them
            practice_id=first.practice_id, patient_id=twice.id,
            appointment_type_id=first.appointment_type_id, location_id=first.location_id,
            weekdays=first.weekdays, earliest_time=first.earliest_time,
            latest_time=first.latest_time, priority=8, status="waiting", source="staff"))
        db.session.commit()
        other = wait(clinic, priority=1)
        book_and_cancel(clinic, slot_at(clinic, "15:00"))
        assert offered_patients() == [twice.id]

        sweep(now=utcnow() + timedelta(minutes=121))

        db.session.expire_all()
        assert offered_patients() == [twice.id, other.id]


def test_a_slot_taken_then_freed_again_goes_on_to_the_next_batch_after_an_expiry(
        client, clinic):
    client.application.config["WAITLIST_BATCH_SIZE"] = 1
    taker, second, third = wait(clinic, priority=9), wait(clinic, priority=8), wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    text_yes(client, taker)
    [appointment] = appointments_of(taker)
    booking.cancel(appointment_id=appointment.id, reason="Cannot come", source="staff",
                   staff_id=clinic.staff.id)
    assert offered_patients() == [taker.id, second.id]

    assert sweep(now=utcnow() + timedelta(minutes=121)) == 1

    db.session.expire_all()
    assert offered_patients() == [taker.id, second.id, third.id]
    assert statuses_by_patient() == {taker.id: "accepted", second.id: "expired",
                                     third.id: "offered"}


def test_removing_the_offered_patient_offers_the_slot_to_the_next_batch(make_app, practice):
    app = make_app(WAITLIST_BATCH_SIZE="1")
    with app.app_context():
        clinic = make_clinic(practice)
        offered, next_in_line = wait(clinic, priority=9), wait(clinic)
        book_and_cancel(clinic, slot_at(clinic, "15:00"))
        assert offered_patients() == [offered.id]

        waitlist_entries.remove_entry(practice_id=clinic.practice.id, entry_id=entry_of(offered).id)

        db.session.expire_all()
        assert statuses_by_patient() == {offered.id: "expired", next_in_line.id: "offered"}
        assert entry_of(offered).status == "removed"


def test_a_yes_to_an_offer_the_sweep_ended_meanwhile_books_nothing(monkeypatch, clinic):
    """The sweep expires the offer between the YES reading it and booking it: the YES's
    claim finds it no longer offered and answers that the time was taken."""
    patient = wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    [(offer, _)] = offers()
    message = factories.make_message(patient, direction="inbound", body="YES")
    book = waitlist_intent._book

    def sweep_first(offer, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        with db.engine.begin() as other:  # the sweep's own transaction, committed
            other.execute(update(WaitlistOffer).where(WaitlistOffer.id == offer.id)
                          .values(status="expired"))
        return book(offer, *args, **kwargs)

    monkeypatch.setattr(waitlist_intent, "_book", sweep_first)

    assert waitlist_intent.take_offer(message, [patient], "YES") is True
    db.session.commit()

    db.session.expire_all()
    assert appointments_of(patient) == []
    assert db.session.get(WaitlistOffer, offer.id).status == "expired"
    reply = db.session.execute(select(Message).where(
        Message.in_reply_to_id == message.id)).scalar_one()
    assert reply.template == "waitlist_taken"


def test_the_sweep_passes_by_an_offer_a_yes_is_booking(postgres_only, monkeypatch, app,
                                                      clinic):
    """A YES that has claimed its offer is still booking when the sweep runs past the offer's
    end: the sweep neither expires it nor offers the slot to anyone else."""
    app.config["WAITLIST_BATCH_SIZE"] = 1
    patient, next_in_line = wait(clinic, priority=9), wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    offer_texts_sent()
    [(offer, _)] = offers()
    after_it_ends = offer.expires_at + timedelta(minutes=1)
    claimed, go_on = threading.Event(), threading.Event()
    book = booking.book_in_transaction
    swept: list[int] = []
    errors: list[BaseException] = []

    def paused_booking(**kwargs):  # noqa: ANN003, ANN202
        claimed.set()
        go_on.wait(timeout=10)
        return book(**kwargs)

    monkeypatch.setattr(booking, "book_in_transaction", paused_booking)

    def reply_yes() -> None:
        with app.app_context():
            try:
                inbound.receive_sms(message_sid=new_sid(), sender=patient.mobile_phone,
                                    body="YES", to=DEPLOYMENT_NUMBER)
            except BaseException as error:  # reported by the assertions below
                errors.append(error)

    def sweep() -> None:
        with app.app_context():
            try:
                swept.append(waitlist_offers.expire_offers(now=after_it_ends))
            except BaseException as error:
                errors.append(error)

    yes = threading.Thread(target=reply_yes)
    yes.start()
    assert claimed.wait(timeout=10)
    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    sweeper.join(timeout=10)
    go_on.set()
    yes.join(timeout=10)

    assert errors == [] and swept == [0]
    db.session.expire_all()
    assert len(appointments_of(patient)) == 1
    assert statuses_by_patient() == {patient.id: "accepted"}
    assert next_in_line.id not in offered_patients()
