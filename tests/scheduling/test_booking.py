"""The booking service: book, reschedule, cancel, status changes and the patient's answer, with
their audit events and domain events."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from app.core import events as core_events
from app.extensions import db as _db
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import booking, calendars, events, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType
from app.security.models import AuditEvent, StaffUser
from tests import factories

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)  # a Sunday
MONDAY = date(2026, 3, 2)
EVENT_TYPES = (events.AppointmentBooked, events.AppointmentRescheduled,
               events.AppointmentCancelled, events.AppointmentStatusChanged,
               events.PatientResponded)


@dataclass
class Clinic:
    practice: Practice
    location: Location
    other_location: Location
    provider: Provider
    colleague: Provider
    exam: AppointmentType  # 30 minutes + 10 minutes to clean up
    staff_only: AppointmentType
    not_offered: AppointmentType
    patient: Patient
    staff: StaffUser


def make_clinic(practice: Practice) -> Clinic:
    """Two providers at one New York location, each working weekdays 09:00-12:00."""
    location = factories.make_location(practice, name="Manhattan", timezone="America/New_York")
    other = factories.make_location(practice, name="Brooklyn", timezone="America/New_York")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    exam.buffer_after_minutes, exam.min_notice_minutes, exam.max_days_ahead = 10, 120, 60
    staff_only = factories.make_appointment_type(practice, name="Whitening", duration_minutes=30)
    staff_only.bookable_online = False
    not_offered = factories.make_appointment_type(practice, name="Surgery", duration_minutes=30)
    _db.session.commit()
    providers = []
    for _ in range(2):
        provider = factories.make_provider(practice, locations=[location])
        calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                        appointment_type_ids=[exam.id, staff_only.id])
        calendars.set_weekly_hours(
            practice_id=practice.id, provider_id=provider.id, location_id=location.id,
            intervals=[WeeklyInterval(day, time(9), time(12)) for day in range(5)])
        providers.append(provider)
    return Clinic(practice, location, other, providers[0], providers[1], exam, staff_only,
                  not_offered, factories.make_patient(practice), factories.make_staff(practice))


def slot_at(clinic: Clinic, hhmm: str, *, day: date = MONDAY, provider: Provider | None = None,
            kind: AppointmentType | None = None) -> slots.Slot:
    kind = kind or clinic.exam
    start = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=NY).astimezone(UTC)
    return slots.Slot(start=start, end=start + timedelta(minutes=kind.duration_minutes),
                      provider_id=(provider or clinic.provider).id,
                      location_id=clinic.location.id, appointment_type_id=kind.id)


def local_times(found: list[slots.Slot]) -> list[str]:
    return [slot.start.astimezone(NY).strftime("%a %H:%M") for slot in found]


def staff_book(clinic: Clinic, slot: slots.Slot, patient: Patient | None = None,
               **options: object) -> Appointment:
    return booking.book(patient_id=(patient or clinic.patient).id, slot=slot, source="staff",
                        staff_id=clinic.staff.id, now=NOW, **options)


def is_open(slot: slots.Slot, **options: object) -> bool:
    return slots.slot_is_open(slot=slot, now=NOW, **options)


def changes() -> list[dict[str, object]]:
    rows = _db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "appointment.change").order_by(AuditEvent.id)).scalars()
    return [{"patient_id": row.patient_id, "object_id": row.object_id,
             "actor_id": row.actor_id, **json.loads(row.detail)} for row in rows]


def appointment_count() -> int:
    return _db.session.execute(select(func.count(Appointment.id))).scalar_one()


@pytest.fixture
def clinic(practice: Practice) -> Clinic:
    return make_clinic(practice)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every appointment event published during the test (the registry is restored after)."""
    registry = defaultdict(list, {kind: list(handlers)
                                  for kind, handlers in core_events._subscribers.items()})
    monkeypatch.setattr(core_events, "_subscribers", registry)
    seen: list[object] = []
    for kind in EVENT_TYPES:
        core_events.subscribe(kind)(seen.append)
    return seen


def test_staff_book_a_slot_and_its_time_is_no_longer_open(clinic, published):
    slot = slot_at(clinic, "09:00")

    appointment = staff_book(clinic, slot, note="Prefers the window chair")

    _db.session.expire_all()
    stored = _db.session.get(Appointment, appointment.id)
    assert (stored.start_at, stored.end_at, stored.status, stored.patient_status,
            stored.source) == (slot.start, slot.end, "booked", "needs-action", "staff")
    assert stored.note == "Prefers the window chair"
    assert not is_open(slot)
    assert not is_open(slot_at(clinic, "09:30"))  # inside the 10-minute clean-up
    assert is_open(slot_at(clinic, "09:00", provider=clinic.colleague))
    assert published == [events.AppointmentBooked(
        appointment_id=appointment.id, practice_id=clinic.practice.id,
        patient_id=clinic.patient.id, provider_id=clinic.provider.id,
        location_id=clinic.location.id, appointment_type_id=clinic.exam.id,
        start_at=slot.start, end_at=slot.end, source="staff", staff_id=clinic.staff.id,
        status="booked")]
    assert changes() == [{"patient_id": clinic.patient.id, "object_id": str(appointment.id),
                          "actor_id": clinic.staff.id, "change": "book", "source": "staff",
                          "status": "booked"}]


def test_the_note_is_encrypted_at_rest(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"), note="Anxious about needles")

    raw = _db.session.execute(text("SELECT note FROM appointment WHERE id = :id"),
                              {"id": appointment.id}).scalar_one()

    assert "needles" not in raw


def test_a_patient_booking_online_has_accepted_and_keeps_to_the_online_rules(clinic):
    appointment = booking.book(patient_id=clinic.patient.id, slot=slot_at(clinic, "10:00"),
                               source="patient", now=NOW)

    assert appointment.patient_status == "accepted"
    with pytest.raises(booking.BookingInputError) as refused:
        booking.book(patient_id=clinic.patient.id, source="patient", now=NOW,
                     slot=slot_at(clinic, "11:00", kind=clinic.staff_only))
    assert refused.value.errors == {"appointment_type_id": "Whitening cannot be booked online"}


@pytest.mark.parametrize(("now", "slot_time", "slot_day"), [
    (datetime.combine(MONDAY, time(9), tzinfo=NY), "10:00", MONDAY),  # 2 h notice
    (NOW, "10:00", MONDAY + timedelta(days=70)),  # bookable 60 days ahead
])
def test_staff_may_book_outside_the_online_booking_window_a_patient_may_not(
        clinic, now, slot_time, slot_day):
    slot = slot_at(clinic, slot_time, day=slot_day)

    with pytest.raises(booking.SlotTaken):
        booking.book(patient_id=clinic.patient.id, slot=slot, source="patient", now=now)
    appointment = booking.book(patient_id=clinic.patient.id, slot=slot, source="staff",
                               staff_id=clinic.staff.id, now=now)

    assert appointment.start_at == slot.start


def test_a_taken_slot_offers_the_same_providers_next_open_times(clinic):
    staff_book(clinic, slot_at(clinic, "09:00"))
    rival = factories.make_patient(clinic.practice)

    with pytest.raises(booking.SlotTaken) as taken:
        staff_book(clinic, slot_at(clinic, "09:00"), patient=rival)

    assert str(taken.value) == "That time was just taken"
    assert local_times(taken.value.next_slots) == [
        "Mon 09:45", "Mon 10:00", "Mon 10:15", "Mon 10:30", "Mon 10:45"]
    assert {slot.provider_id for slot in taken.value.next_slots} == {clinic.provider.id}
    assert appointment_count() == 1


def test_when_the_provider_has_no_more_time_any_provider_is_offered(clinic):
    calendars.set_weekly_hours(  # Dr. A works one morning only
        practice_id=clinic.practice.id, provider_id=clinic.provider.id,
        location_id=clinic.location.id, valid_from=MONDAY, valid_until=MONDAY,
        intervals=[WeeklyInterval(0, time(9), time(9, 40))])
    calendars.set_weekly_hours(
        practice_id=clinic.practice.id, provider_id=clinic.provider.id,
        location_id=clinic.location.id, valid_from=MONDAY + timedelta(days=1), intervals=[])
    staff_book(clinic, slot_at(clinic, "09:00"))

    with pytest.raises(booking.SlotTaken) as taken:
        staff_book(clinic, slot_at(clinic, "09:00"), patient=factories.make_patient(
            clinic.practice))

    assert local_times(taken.value.next_slots)[:2] == ["Mon 09:00", "Mon 09:15"]
    assert {slot.provider_id for slot in taken.value.next_slots} == {clinic.colleague.id}


def test_a_patient_cannot_hold_two_appointments_at_once(clinic):
    staff_book(clinic, slot_at(clinic, "09:00"))

    for slot in (slot_at(clinic, "09:00"),  # a double-submitted booking
                 slot_at(clinic, "09:15", provider=clinic.colleague)):
        with pytest.raises(booking.BookingInputError) as refused:
            staff_book(clinic, slot)
        assert refused.value.errors == {
            "start": "the patient already has an appointment at that time"}
    # Right after the appointment is fine: the clean-up buffer is the provider's time.
    staff_book(clinic, slot_at(clinic, "09:30", provider=clinic.colleague))
    assert appointment_count() == 2


def _past(clinic: Clinic, slot: slots.Slot) -> slots.Slot:
    return replace(slot, start=slot.start - timedelta(days=2), end=slot.end - timedelta(days=2))


def _naive(clinic: Clinic, slot: slots.Slot) -> slots.Slot:
    return replace(slot, start=slot.start.replace(tzinfo=None))


BAD_INPUTS = {
    "unknown patient": (lambda c, s: {"patient_id": 999_999}, "patient_id"),
    "unknown type": (lambda c, s: {"slot": replace(s, appointment_type_id=999_999)},
                     "appointment_type_id"),
    "unknown provider": (lambda c, s: {"slot": replace(s, provider_id=999_999)}, "provider_id"),
    "unknown location": (lambda c, s: {"slot": replace(s, location_id=999_999)}, "location_id"),
    "provider not there": (lambda c, s: {"slot": replace(s, location_id=c.other_location.id)},
                           "location_id"),
    "type not offered": (lambda c, s: {"slot": replace(
        s, appointment_type_id=c.not_offered.id)}, "appointment_type_id"),
    "wrong length": (lambda c, s: {"slot": replace(s, end=s.start + timedelta(minutes=45))},
                     "end"),
    "in the past": (lambda c, s: {"slot": _past(c, s)}, "start"),
    "no time zone": (lambda c, s: {"slot": _naive(c, s)}, "start"),
    "unknown source": (lambda c, s: {"source": "fax"}, "source"),
    "staff without staff_id": (lambda c, s: {"staff_id": None}, "staff_id"),
    "staff_id for the EHR": (lambda c, s: {"source": "ehr"}, "staff_id"),
    "unknown staff": (lambda c, s: {"staff_id": 999_999}, "staff_id"),
    "final status": (lambda c, s: {"status": "fulfilled"}, "status"),
    "note too long": (lambda c, s: {"note": "x" * 1001}, "note"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_the_field_and_writes_nothing(clinic, published, case):
    change, field = BAD_INPUTS[case]
    arguments = {"patient_id": clinic.patient.id, "slot": slot_at(clinic, "09:00"),
                 "source": "staff", "staff_id": clinic.staff.id, "now": NOW}

    with pytest.raises(booking.BookingInputError) as refused:
        booking.book(**{**arguments, **change(clinic, arguments["slot"])})

    assert list(refused.value.errors) == [field]
    assert appointment_count() == 0
    assert changes() == []
    assert published == []


def test_a_known_answer_is_booked_with_the_appointment_or_not_at_all(clinic, published):
    accepted = staff_book(clinic, slot_at(clinic, "09:00"), response="accepted")
    assert accepted.patient_status == "accepted"
    assert [type(event).__name__ for event in published] == ["AppointmentBooked",
                                                              "PatientResponded"]

    with pytest.raises(booking.BookingInputError) as refused:
        staff_book(clinic, slot_at(clinic, "10:00"), response="maybe")
    assert list(refused.value.errors) == ["response"]
    assert appointment_count() == 1
    assert is_open(slot_at(clinic, "10:00"))


def test_a_failing_subscriber_undoes_the_booking(clinic, monkeypatch):
    monkeypatch.setattr(core_events, "_subscribers", defaultdict(list))

    @core_events.subscribe(events.AppointmentBooked)
    def explode(event: events.AppointmentBooked) -> None:
        raise RuntimeError("journey planning failed")

    with pytest.raises(RuntimeError):
        staff_book(clinic, slot_at(clinic, "09:00"))

    assert appointment_count() == 0
    assert changes() == []
    assert is_open(slot_at(clinic, "09:00"))


def test_reschedule_moves_the_appointment_and_frees_the_old_time(clinic, published):
    old = slot_at(clinic, "09:00")
    appointment = booking.book(patient_id=clinic.patient.id, slot=old, source="patient",
                               now=NOW, note="Bring x-rays")
    new = slot_at(clinic, "10:00", day=MONDAY + timedelta(days=1), provider=clinic.colleague)

    moved = booking.reschedule(appointment_id=appointment.id, new_slot=new, source="staff",
                               staff_id=clinic.staff.id, reason="Dentist is out", now=NOW)

    assert (moved.start_at, moved.provider_id, moved.patient_status) == (
        new.start, clinic.colleague.id, "needs-action")
    assert moved.note == "Bring x-rays\nRescheduled: Dentist is out"
    assert is_open(old) and not is_open(new)
    assert published[-1] == events.AppointmentRescheduled(
        **events.facts(moved, source="staff", staff_id=clinic.staff.id),
        old_start_at=old.start, old_end_at=old.end, old_provider_id=clinic.provider.id,
        old_location_id=clinic.location.id, old_appointment_type_id=clinic.exam.id)
    assert [(c["change"], c["source"]) for c in changes()] == [
        ("book", "patient"), ("reschedule", "staff")]


def test_rescheduling_into_the_appointments_own_time_works(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))

    moved = booking.reschedule(appointment_id=appointment.id, new_slot=slot_at(clinic, "09:15"),
                               source="patient", now=NOW)

    assert moved.start_at == slot_at(clinic, "09:15").start
    assert moved.patient_status == "accepted"
    assert appointment_count() == 1


def test_rescheduling_into_a_taken_time_offers_alternatives_and_changes_nothing(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))
    staff_book(clinic, slot_at(clinic, "10:00"), patient=factories.make_patient(clinic.practice))

    with pytest.raises(booking.SlotTaken) as taken:
        booking.reschedule(appointment_id=appointment.id, new_slot=slot_at(clinic, "10:00"),
                           source="staff", staff_id=clinic.staff.id, now=NOW)

    assert local_times(taken.value.next_slots)[0] == "Mon 10:45"
    _db.session.expire_all()
    assert _db.session.get(Appointment, appointment.id).start_at == slot_at(clinic,
                                                                          "09:00").start


@pytest.mark.clock("2026-03-02T14:45:00+00:00")  # Monday 09:45 in New York: the visit's day
def test_only_appointments_yet_to_happen_can_be_moved(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))
    booking.set_status(appointment_id=appointment.id, status="arrived", source="staff",
                       staff_id=clinic.staff.id)

    with pytest.raises(booking.BookingInputError) as refused:
        booking.reschedule(appointment_id=appointment.id, new_slot=slot_at(clinic, "10:00"),
                           source="staff", staff_id=clinic.staff.id, now=NOW)

    assert refused.value.errors == {"appointment_id": "a arrived appointment cannot be moved"}


def test_cancel_frees_the_time_for_someone_else_and_keeps_the_reason_encrypted(clinic,
                                                                               published):
    slot = slot_at(clinic, "09:00")
    appointment = staff_book(clinic, slot)

    booking.cancel(appointment_id=appointment.id, reason="Has the flu", source="patient")

    _db.session.expire_all()
    stored = _db.session.get(Appointment, appointment.id)
    assert (stored.status, stored.cancel_reason) == ("cancelled", "Has the flu")
    raw = _db.session.execute(text("SELECT cancel_reason FROM appointment WHERE id = :id"),
                              {"id": appointment.id}).scalar_one()
    assert "flu" not in raw
    assert isinstance(published[-1], events.AppointmentCancelled)
    assert (published[-1].old_status, published[-1].start_at) == ("booked", slot.start)
    assert changes()[-1]["change"] == "cancel" and "flu" not in json.dumps(changes())
    rebooked = staff_book(clinic, slot, patient=factories.make_patient(clinic.practice))
    assert rebooked.start_at == slot.start


def test_cancel_needs_a_reason_and_happens_once(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))

    with pytest.raises(booking.BookingInputError) as refused:
        booking.cancel(appointment_id=appointment.id, reason="  ", source="staff",
                       staff_id=clinic.staff.id)
    assert list(refused.value.errors) == ["reason"]
    booking.cancel(appointment_id=appointment.id, reason="Moved away", source="staff",
                   staff_id=clinic.staff.id)
    with pytest.raises(booking.InvalidTransition) as again:
        booking.cancel(appointment_id=appointment.id, reason="Again", source="staff",
                       staff_id=clinic.staff.id)
    assert (again.value.from_status, again.value.to_status) == ("cancelled", "cancelled")


@pytest.mark.clock("2026-03-02T14:45:00+00:00")  # Monday 09:45 in New York: the visit's day
def test_check_in_and_check_out_walk_the_statuses(clinic, published):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))

    for status in ("arrived", "checked-in", "fulfilled"):
        booking.set_status(appointment_id=appointment.id, status=status, source="staff",
                           staff_id=clinic.staff.id)

    moves = [(e.old_status, e.new_status) for e in published
             if isinstance(e, events.AppointmentStatusChanged)]
    assert moves == [("booked", "arrived"), ("arrived", "checked-in"),
                     ("checked-in", "fulfilled")]
    assert [c.get("status") for c in changes()] == ["booked", "arrived", "checked-in",
                                                   "fulfilled"]


@pytest.mark.clock("2026-03-02T14:45:00+00:00")  # Monday 09:45 in New York: the visit's day
@pytest.mark.parametrize(("path", "source", "refused"), [
    (["fulfilled"], "staff", ("booked", "fulfilled")),
    (["noshow", "arrived"], "staff", ("noshow", "arrived")),
    (["arrived", "checked-in", "fulfilled", "entered-in-error"], "fhir",
     ("fulfilled", "entered-in-error")),
    (["entered-in-error"], "patient", ("booked", "entered-in-error")),
    (["entered-in-error", "booked"], "staff", ("entered-in-error", "booked")),
])
def test_invalid_transitions_name_from_and_to(clinic, path, source, refused):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))
    *allowed, last = path

    for status in allowed:
        booking.set_status(appointment_id=appointment.id, status=status, source="staff",
                           staff_id=clinic.staff.id)
    with pytest.raises(booking.InvalidTransition) as error:
        booking.set_status(appointment_id=appointment.id, status=last, source=source,
                           staff_id=clinic.staff.id if source == "staff" else None)

    assert (error.value.from_status, error.value.to_status) == refused
    assert f"from {refused[0]} to {refused[1]}" in str(error.value)


def test_staff_can_mark_a_finished_appointment_entered_in_error(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))
    booking.cancel(appointment_id=appointment.id, reason="Duplicate", source="ehr")

    marked = booking.set_status(appointment_id=appointment.id, status="entered-in-error",
                                source="staff", staff_id=clinic.staff.id)

    assert marked.status == "entered-in-error"


def test_set_status_refuses_unknown_statuses_cancelling_and_unknown_appointments(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))

    for status in ("done", "cancelled"):
        with pytest.raises(booking.BookingInputError) as refused:
            booking.set_status(appointment_id=appointment.id, status=status, source="staff",
                               staff_id=clinic.staff.id)
        assert list(refused.value.errors) == ["status"]
    with pytest.raises(booking.AppointmentNotFound) as missing:
        booking.set_status(appointment_id=999_999, status="arrived", source="ehr")
    assert list(missing.value.errors) == ["appointment_id"]


def test_a_declined_appointment_keeps_its_time(clinic, published):
    slot = slot_at(clinic, "09:00")
    appointment = staff_book(clinic, slot)

    answered = booking.set_patient_response(appointment_id=appointment.id, response="declined")
    booking.set_patient_response(appointment_id=appointment.id, response="declined")

    assert (answered.status, answered.patient_status) == ("booked", "declined")
    assert not is_open(slot)
    responses = [(e.old_response, e.new_response, e.source) for e in published
                 if isinstance(e, events.PatientResponded)]
    assert responses == [("needs-action", "declined", "patient")]  # the repeat changed nothing
    assert changes()[-1] | {"object_id": None} == {
        "patient_id": clinic.patient.id, "object_id": None, "actor_id": None,
        "change": "response", "source": "patient", "response": "declined"}


def test_patient_responses_are_checked(clinic):
    appointment = staff_book(clinic, slot_at(clinic, "09:00"))

    with pytest.raises(booking.BookingInputError) as unknown:
        booking.set_patient_response(appointment_id=appointment.id, response="maybe")
    booking.cancel(appointment_id=appointment.id, reason="Moved away", source="patient")
    with pytest.raises(booking.BookingInputError) as too_late:
        booking.set_patient_response(appointment_id=appointment.id, response="accepted")

    assert list(unknown.value.errors) == ["response"]
    assert too_late.value.errors == {"response": "the appointment is already cancelled"}
