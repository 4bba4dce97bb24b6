"""Booking, rescheduling, cancelling and status changes: the one path every source takes (staff
at the desk, the patient online, the FHIR API, EHR sync).

No double booking, enforced by the database. Inside the transaction the service locks the
provider's row and the patient's before it re-checks the slot with the slot engine, so two
requests for the same time are serialized and the second sees the first one's appointment.
PostgreSQL takes row locks (FOR NO KEY UPDATE: other writers' foreign-key checks pass);
SQLite allows one writer at a time, so a no-op UPDATE as the transaction's first write takes
the database's write lock before anything is read for the check. SQLite's "database is locked"
is retried, and when it persists a booking answers ``SlotTaken``: never a server error.

A patient cannot be in two places: a time that overlaps another of the patient's appointments
that hold time (any provider, any location; buffers are the provider's time, not the
patient's) is refused with an error on ``start`` — which is also what a double-submitted
booking gets.

The appointment type's booking window (minimum notice, days ahead) and "bookable online" are
rules for patients: staff, the FHIR API and EHR sync may book inside the notice period and past
the horizon.

Each call is one transaction: it commits on success and rolls back on any error, so call it
with nothing pending in the session; ``update`` makes several changes as one. Every change
appends an ``appointment.change`` audit event and publishes its domain event
(``app.scheduling.events``; a note change has none) before the commit. Locks are taken in one
order (appointment, provider, patient, then the audit chain's), so these calls cannot
deadlock one another; ``update`` moves the appointment before any other change, so it keeps
that order. A caller that had already appended an audit event in the same transaction would
hold the audit lock first and could. Other changes than bookings answer a persistently locked
SQLite database with ``ScheduleBusy``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from time import sleep
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from app.core.clock import utcnow
from app.core.events import publish
from app.extensions import db
from app.patients.models import Patient
from app.scheduling import events, slots
from app.scheduling.booking_rules import (
    INITIAL_STATUSES,
    MOVABLE_STATUSES,
    RESPONSES,
    TRANSITIONS,
    AppointmentNotFound,
    BookingError,
    BookingInputError,
    InvalidTransition,
    ScheduleBusy,
    SlotTaken,
    check_actor,
    check_slot,
    check_transition,
    clean_text,
)
from app.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ParticipantStatus,
)
from app.scheduling.slots import Slot
from app.security import audit
from app.security.models import StaffUser

__all__ = ["AppointmentNotFound", "BookingError", "BookingInputError", "InvalidTransition",
           "ScheduleBusy", "SlotTaken", "book", "book_in_transaction", "cancel", "reschedule",
           "set_note", "set_patient_response", "set_status", "update"]

T = TypeVar("T")
S = AppointmentStatus
NEXT_SLOTS = 5
_ATTEMPTS = 3


class _SlotGone(Exception):
    """Inside the transaction: the slot failed the locked re-check."""


def book(*, patient_id: int, slot: Slot, source: str, staff_id: int | None = None,
         note: str | None = None, status: str = S.BOOKED, response: str | None = None,
         now: datetime | None = None) -> Appointment:
    """Book ``slot`` for the patient; raises ``SlotTaken`` with alternatives if it is gone.
    ``response`` is the patient's answer when it is already known (an EHR booking the patient
    accepted): set in the same transaction, as ``set_patient_response`` would."""
    now = now or utcnow()

    def work() -> Appointment:
        appointment = _book(patient_id=patient_id, slot=slot, source=source,
                            staff_id=staff_id, note=note, status=status, now=now)
        if response is not None and response != appointment.patient_status:
            db.session.flush()
            _set_patient_response(appointment.id, response, source=source, staff_id=staff_id)
        return appointment

    try:
        return _transaction(work)
    except (_SlotGone, ScheduleBusy):
        raise SlotTaken(_alternatives(slot, source=source, now=now)) from None


def book_in_transaction(*, patient_id: int, slot: Slot, source: str,
                        now: datetime | None = None) -> Appointment:
    """``book`` inside a transaction the caller owns (an SMS intent handler, within the inbound
    webhook's): the same checks, locks, audit event and domain event, but no commit and no
    rollback. A refusal comes before anything but the locks is written, so the caller can go
    on: ``BookingInputError``, or ``SlotTaken`` without alternatives (finding them would end
    the transaction). The caller must not have appended an audit event yet (lock order)."""
    now = now or utcnow()
    try:
        return _book(patient_id=patient_id, slot=slot, source=source, staff_id=None,
                     note=None, status=S.BOOKED, now=now)
    except _SlotGone:
        raise SlotTaken([]) from None


def _book(*, patient_id: int, slot: Slot, source: str, staff_id: int | None,
          note: str | None, status: str, now: datetime) -> Appointment:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise BookingInputError({"patient_id": _("no such patient %(id)s", id=patient_id)})
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=patient.practice_id)
    clean_note = clean_text(errors, "note", note)
    if status not in INITIAL_STATUSES:
        errors["status"] = _("must be one of %(choices)s", choices=", ".join(INITIAL_STATUSES))
    kind = check_slot(errors, slot, practice_id=patient.practice_id, source=source, now=now)
    if errors:
        raise BookingInputError(errors)
    assert kind is not None  # no appointment_type_id error
    _claim(slot, kind=kind, patient_id=patient.id, source=source, now=now)
    appointment = Appointment(
        practice_id=patient.practice_id, patient_id=patient.id, provider_id=slot.provider_id,
        location_id=slot.location_id, appointment_type_id=slot.appointment_type_id,
        start_at=slot.start.astimezone(UTC), end_at=slot.end.astimezone(UTC),
        status=str(status), patient_status=_response_on_booking(source), note=clean_note,
        source=source)
    db.session.add(appointment)
    _announce(appointment, events.AppointmentBooked, change="book", source=source,
              staff=staff, detail={"status": str(status)}, status=str(status))
    return appointment


def reschedule(*, appointment_id: int, new_slot: Slot, source: str,
               staff_id: int | None = None, reason: str | None = None,
               now: datetime | None = None) -> Appointment:
    """Move the appointment to ``new_slot`` (its own old time counts as free). The patient's
    answer resets to needs-action unless the patient moved it. The model has no column for a
    reschedule reason: it is added to the appointment's (encrypted) note."""
    now = now or utcnow()
    try:
        return _transaction(lambda: _reschedule(appointment_id, new_slot, source=source,
                                                staff_id=staff_id, reason=reason, now=now))
    except (_SlotGone, ScheduleBusy):
        raise SlotTaken(_alternatives(new_slot, source=source, now=now,
                                      appointment_id=appointment_id)) from None


def cancel(*, appointment_id: int, reason: str, source: str, staff_id: int | None = None
           ) -> Appointment:
    """Cancel the appointment, freeing its time; the reason is stored encrypted."""
    return _transaction(lambda: _cancel(appointment_id, reason, source=source,
                                        staff_id=staff_id))


def set_status(*, appointment_id: int, status: str, source: str, staff_id: int | None = None
               ) -> Appointment:
    """Check-in (arrived, checked-in), check-out (fulfilled), no-show, entered-in-error, or a
    proposal confirmed (pending, booked), following ``TRANSITIONS``. Cancelling needs a
    reason: use ``cancel``."""
    return _transaction(lambda: _set_status(appointment_id, status, source=source,
                                            staff_id=staff_id))


def set_patient_response(*, appointment_id: int, response: str, source: str = "patient",
                         staff_id: int | None = None) -> Appointment:
    """Record the patient's own answer (FHIR participant status). A decline does NOT cancel:
    the appointment keeps its time until staff, or the patient through ``cancel``, cancel it,
    so a hasty "no" never frees a slot the patient still wants. Repeating the current answer
    changes nothing."""
    return _transaction(lambda: _set_patient_response(appointment_id, response, source=source,
                                                      staff_id=staff_id))


def set_note(*, appointment_id: int, note: str | None, source: str,
             staff_id: int | None = None) -> Appointment:
    """Replace the appointment's (encrypted) note, in any status. It tells no other domain, so
    it is audited but publishes no event. Repeating the current note changes nothing."""
    return _transaction(lambda: _set_note(appointment_id, note, source=source,
                                          staff_id=staff_id))


def update(*, appointment_id: int, source: str, new_slot: Slot, response: str, status: str,
           note: str | None, cancel_reason: str | None = None, staff_id: int | None = None,
           now: datetime | None = None) -> list[str]:
    """Bring the appointment to the state given, as ONE transaction: all of it or nothing.
    Each difference takes the step of its own call, with its checks, audit event and domain
    event, in this order: the time, provider, location or type (``reschedule``), the patient's
    answer (compared after the move, which resets it), the status (``cancel`` with
    ``cancel_reason`` when it becomes cancelled, else ``set_status``), the note (None clears
    it). Returns the changes made: "time", "response", "status", "note". A lost time raises
    ``SlotTaken`` with alternatives, like ``reschedule``. The move comes first, so the locks
    are still taken in the module's order."""
    now = now or utcnow()

    def work() -> list[str]:
        appointment = _locked_appointment(appointment_id)
        changes = []
        if _slot_of(appointment) != new_slot:
            _reschedule(appointment_id, new_slot, source=source, staff_id=staff_id, reason=None,
                        now=now)
            changes.append("time")
        if appointment.patient_status != response:
            _set_patient_response(appointment_id, response, source=source, staff_id=staff_id)
            changes.append("response")
        if appointment.status != status:
            if status == S.CANCELLED:
                _cancel(appointment_id, cancel_reason or "", source=source, staff_id=staff_id)
            else:
                _set_status(appointment_id, status, source=source, staff_id=staff_id)
            changes.append("status")
        old_note = appointment.note
        _set_note(appointment_id, note, source=source, staff_id=staff_id)
        if appointment.note != old_note:
            changes.append("note")
        return changes

    try:
        return _transaction(work)
    except (_SlotGone, ScheduleBusy):
        raise SlotTaken(_alternatives(new_slot, source=source, now=now,
                                      appointment_id=appointment_id)) from None


def _reschedule(appointment_id: int, new_slot: Slot, *, source: str, staff_id: int | None,
                reason: str | None, now: datetime) -> Appointment:
    appointment = _locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    clean_reason = clean_text(errors, "reason", reason)
    if appointment.status not in MOVABLE_STATUSES:
        errors["appointment_id"] = _("a %(status)s appointment cannot be moved",
                                     status=appointment.status)
    kind = check_slot(errors, new_slot, practice_id=appointment.practice_id,
                      source=source, now=now)
    if not errors and _slot_of(appointment) == new_slot:
        errors["start"] = _("is already the appointment's time")
    if errors:
        raise BookingInputError(errors)
    assert kind is not None  # no appointment_type_id error
    _claim(new_slot, kind=kind, patient_id=appointment.patient_id, source=source, now=now,
           appointment_id=appointment.id)
    old = _slot_of(appointment)
    appointment.provider_id = new_slot.provider_id
    appointment.location_id = new_slot.location_id
    appointment.appointment_type_id = new_slot.appointment_type_id
    appointment.start_at = new_slot.start.astimezone(UTC)
    appointment.end_at = new_slot.end.astimezone(UTC)
    appointment.patient_status = _response_on_booking(source)
    if clean_reason:
        line = f"Rescheduled: {clean_reason}"
        appointment.note = f"{appointment.note}\n{line}" if appointment.note else line
    _announce(appointment, events.AppointmentRescheduled, change="reschedule",
              source=source, staff=staff, old_start_at=old.start, old_end_at=old.end,
              old_provider_id=old.provider_id, old_location_id=old.location_id,
              old_appointment_type_id=old.appointment_type_id)
    return appointment


def _cancel(appointment_id: int, reason: str, *, source: str, staff_id: int | None
            ) -> Appointment:
    appointment = _locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    clean_reason = clean_text(errors, "reason", reason)
    if not clean_reason and "reason" not in errors:
        errors["reason"] = _("say why the appointment is cancelled")
    if errors:
        raise BookingInputError(errors)
    old_status = appointment.status
    check_transition(old_status, S.CANCELLED, source=source)
    appointment.status = S.CANCELLED
    appointment.cancel_reason = clean_reason
    _announce(appointment, events.AppointmentCancelled, change="cancel", source=source,
              staff=staff, detail={"old_status": old_status}, old_status=old_status)
    return appointment


def _set_status(appointment_id: int, status: str, *, source: str, staff_id: int | None
                ) -> Appointment:
    appointment = _locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    if status not in TRANSITIONS:
        errors["status"] = _("unknown status %(status)r", status=status)
    elif status == S.CANCELLED:
        errors["status"] = _("cancelling needs a reason: cancel the appointment instead")
    if errors:
        raise BookingInputError(errors)
    old_status = appointment.status
    check_transition(old_status, status, source=source)
    appointment.status = str(status)
    _announce(appointment, events.AppointmentStatusChanged, change="status", source=source,
              staff=staff, detail={"old_status": old_status, "status": str(status)},
              old_status=old_status, new_status=str(status))
    return appointment


def _set_patient_response(appointment_id: int, response: str, *, source: str,
                          staff_id: int | None) -> Appointment:
    appointment = _locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    if response not in RESPONSES:
        errors["response"] = _("must be one of %(choices)s", choices=", ".join(RESPONSES))
    elif appointment.status not in MOVABLE_STATUSES:
        errors["response"] = _("the appointment is already %(status)s", status=appointment.status)
    if errors:
        raise BookingInputError(errors)
    old_response = appointment.patient_status
    if old_response == response:
        return appointment
    appointment.patient_status = str(response)
    _announce(appointment, events.PatientResponded, change="response", source=source,
              staff=staff, detail={"response": str(response)}, old_response=old_response,
              new_response=str(response))
    return appointment


def _set_note(appointment_id: int, note: str | None, *, source: str, staff_id: int | None
              ) -> Appointment:
    appointment = _locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    clean_note = clean_text(errors, "note", note)
    if errors:
        raise BookingInputError(errors)
    if appointment.note == clean_note:
        return appointment
    appointment.note = clean_note
    _record(appointment, change="note", source=source, staff=staff)
    return appointment


def _transaction(work: Callable[[], T]) -> T:
    """Run ``work`` as one transaction: commit, or roll back on any error. SQLite's "database
    is locked" is retried a few times, then reported as ``ScheduleBusy``."""
    attempt = 1
    while True:
        try:
            result = work()
            db.session.commit()
        except OperationalError as error:
            db.session.rollback()
            if "database is locked" not in str(error.orig):
                raise
            if attempt == _ATTEMPTS:
                raise ScheduleBusy() from error
            sleep(0.05 * attempt)
            attempt += 1
        except BaseException:
            db.session.rollback()
            raise
        else:
            return result


def _lock(table_name: str, row_id: int) -> None:
    """Hold the row (SQLite: the whole database) until the transaction ends."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SELECT id FROM {table_name} WHERE id = :id "  # noqa: S608
                                "FOR NO KEY UPDATE"), {"id": row_id})
    else:
        db.session.execute(text(f"UPDATE {table_name} SET id = id WHERE id = :id"),  # noqa: S608
                           {"id": row_id})


def _locked_appointment(appointment_id: int) -> Appointment:
    _lock("appointment", appointment_id)
    appointment = db.session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None:
        raise AppointmentNotFound(appointment_id)
    return appointment


def _claim(slot: Slot, *, kind: AppointmentType, patient_id: int, source: str, now: datetime,
           appointment_id: int | None = None) -> None:
    """Lock the provider and the patient, then check, with the locks held, that the patient is
    free and the slot open (``appointment_id``'s own time counting as free)."""
    _lock("provider", slot.provider_id)
    _lock("patient", patient_id)
    overlapping = select(Appointment.id).where(
        Appointment.patient_id == patient_id,
        Appointment.status.in_([str(status) for status in slots.HOLDING_STATUSES]),
        Appointment.start_at < slot.end.astimezone(UTC),
        Appointment.end_at > slot.start.astimezone(UTC))
    if appointment_id is not None:
        overlapping = overlapping.where(Appointment.id != appointment_id)
    if db.session.execute(overlapping.limit(1)).first() is not None:
        raise BookingInputError({"start": _("the patient already has an appointment at that time")})
    if not slots.slot_is_open(slot=slot, now=_engine_now(kind, source, slot.start, now),
                              exclude_appointment_id=appointment_id):
        raise _SlotGone


def _engine_now(kind: AppointmentType, source: str, at: datetime, now: datetime) -> datetime:
    """The "now" to give the slot engine. Its notice and horizon rules are the patient's; for
    anyone else, ask as if it were just early enough for ``at`` to pass them."""
    if source == "patient":
        return now
    return at - timedelta(minutes=kind.min_notice_minutes or 0)


def _alternatives(slot: Slot, *, source: str, now: datetime,
                  appointment_id: int | None = None) -> list[Slot]:
    """Up to ``NEXT_SLOTS`` open slots from the wanted time on, for the same type and location:
    the same provider's, or any provider's when that one has none."""
    kind = db.session.get(AppointmentType, slot.appointment_type_id)
    if kind is None:
        return []
    begin = max(slot.start, now)
    found: list[Slot] = []
    for provider_id in (slot.provider_id, None):
        found = [other for other in slots.find_open_slots(
            appointment_type_id=kind.id, location_id=slot.location_id, provider_id=provider_id,
            start=begin, end=begin + timedelta(days=max(kind.max_days_ahead, 1)),
            limit=NEXT_SLOTS + 1, now=_engine_now(kind, source, begin, now),
            exclude_appointment_id=appointment_id) if other != slot][:NEXT_SLOTS]
        if found:
            break
    db.session.rollback()  # end the read transaction: a caller may hold the session a while
    return found


def _response_on_booking(source: str) -> str:
    """A patient who picks the time has accepted it; anyone else's choice awaits an answer."""
    return ParticipantStatus.ACCEPTED if source == "patient" else ParticipantStatus.NEEDS_ACTION


def _slot_of(appointment: Appointment) -> Slot:
    return Slot(start=appointment.start_at, end=appointment.end_at,
                provider_id=appointment.provider_id, location_id=appointment.location_id,
                appointment_type_id=appointment.appointment_type_id)


def _announce(appointment: Appointment, event_type: type[events.AppointmentEvent], *,
              change: str, source: str, staff: StaffUser | None,
              detail: dict[str, str] | None = None, **fields: Any) -> None:
    """Flush the change, append its audit event and publish its domain event."""
    _record(appointment, change=change, source=source, staff=staff, detail=detail)
    publish(event_type(**events.facts(appointment, source=source,
                                      staff_id=staff.id if staff else None), **fields))


def _record(appointment: Appointment, *, change: str, source: str, staff: StaffUser | None,
            detail: dict[str, str] | None = None) -> None:
    """Flush the change and append its audit event (no PHI: the kind of change, the source,
    statuses)."""
    db.session.flush()
    audit.record(audit.Action.APPOINTMENT_CHANGE, patient_id=appointment.patient_id,
                 object_type="appointment", object_id=appointment.id,
                 detail={"change": change, "source": source, **(detail or {})}, actor=staff)
