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
SQLite database with ``ScheduleBusy``. The steps each call takes inside its transaction
(checks, locks, the change, its events) are ``booking_steps``'.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from time import sleep
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from app.core.clock import utcnow
from app.extensions import db
from app.scheduling import booking_steps, slots
from app.scheduling.booking_rules import (
    AppointmentNotFound,
    BookingError,
    BookingInputError,
    InvalidTransition,
    OutsideHours,
    ScheduleBusy,
    SlotTaken,
)
from app.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from app.scheduling.slots import Slot

__all__ = ["AppointmentNotFound", "BookingError", "BookingInputError", "InvalidTransition",
           "OutsideHours", "ScheduleBusy", "SlotTaken", "book", "book_in_transaction", "cancel",
           "reschedule", "set_note", "set_patient_response", "set_status", "update"]

T = TypeVar("T")
Then = Callable[[Appointment], None]
S = AppointmentStatus
NEXT_SLOTS = 5
_ATTEMPTS = 3


def book(*, patient_id: int, slot: Slot, source: str, staff_id: int | None = None,
         note: str | None = None, status: str = S.BOOKED, response: str | None = None,
         now: datetime | None = None) -> Appointment:
    """Book ``slot`` for the patient; raises ``SlotTaken`` with alternatives if it is gone.
    ``response`` is the patient's answer when it is already known (an EHR booking the patient
    accepted): set in the same transaction, as ``set_patient_response`` would."""
    now = now or utcnow()

    def work() -> Appointment:
        appointment = booking_steps.book(patient_id=patient_id, slot=slot, source=source,
                                         staff_id=staff_id, note=note, status=status, now=now)
        if response is not None and response != appointment.patient_status:
            db.session.flush()
            booking_steps.set_patient_response(appointment.id, response, source=source,
                                               staff_id=staff_id)
        return appointment

    try:
        return _transaction(work)
    except (booking_steps.SlotGone, ScheduleBusy) as gone:
        raise _lost(gone)(_alternatives(slot, source=source, now=now)) from None


def book_in_transaction(*, patient_id: int, slot: Slot, source: str,
                        now: datetime | None = None) -> Appointment:
    """``book`` inside a transaction the caller owns (an SMS intent handler, within the inbound
    webhook's): the same checks, locks, audit event and domain event, but no commit and no
    rollback. A refusal comes before anything but the locks is written, so the caller can go
    on: ``BookingInputError``, or ``SlotTaken`` without alternatives (finding them would end
    the transaction). The caller must not have appended an audit event yet (lock order)."""
    now = now or utcnow()
    try:
        return booking_steps.book(patient_id=patient_id, slot=slot, source=source,
                                  staff_id=None, note=None, status=S.BOOKED, now=now)
    except booking_steps.SlotGone as gone:
        raise _lost(gone)([]) from None


def reschedule(*, appointment_id: int, new_slot: Slot, source: str,
               staff_id: int | None = None, reason: str | None = None,
               now: datetime | None = None, then: Then | None = None) -> Appointment:
    """Move the appointment to ``new_slot`` (its own old time counts as free). The patient's
    answer resets to needs-action unless the patient moved it. The model has no column for a
    reschedule reason: it is added to the appointment's (encrypted) note. ``then`` runs in
    the same transaction after the move (a text telling the patient)."""
    now = now or utcnow()
    try:
        return _transaction(lambda: _then(then, booking_steps.reschedule(
            appointment_id, new_slot, source=source, staff_id=staff_id, reason=reason,
            now=now)))
    except (booking_steps.SlotGone, ScheduleBusy) as gone:
        raise _lost(gone)(_alternatives(new_slot, source=source, now=now,
                                        appointment_id=appointment_id)) from None


def cancel(*, appointment_id: int, reason: str, source: str, staff_id: int | None = None,
           by_practice: bool = False, then: Then | None = None) -> Appointment:
    """Cancel the appointment, freeing its time; the reason is stored encrypted.
    ``by_practice``: the practice cancelled it, not the patient (the event says so). ``then``
    runs in the same transaction after the change (a text telling the patient)."""
    return _transaction(lambda: _then(then, booking_steps.cancel(
        appointment_id, reason, source=source, staff_id=staff_id, by_practice=by_practice)))


def _then(then: Then | None, appointment: Appointment) -> Appointment:
    if then is not None:
        then(appointment)
    return appointment


def set_status(*, appointment_id: int, status: str, source: str, staff_id: int | None = None
               ) -> Appointment:
    """Check-in (arrived, checked-in), check-out (fulfilled), no-show, entered-in-error, or a
    proposal confirmed (pending, booked), following ``TRANSITIONS``. Cancelling needs a
    reason: use ``cancel``."""
    return _transaction(lambda: booking_steps.set_status(appointment_id, status, source=source,
                                                         staff_id=staff_id))


def set_patient_response(*, appointment_id: int, response: str, source: str = "patient",
                         staff_id: int | None = None) -> Appointment:
    """Record the patient's own answer (FHIR participant status). A decline does NOT cancel:
    the appointment keeps its time until staff, or the patient through ``cancel``, cancel it,
    so a hasty "no" never frees a slot the patient still wants. Repeating the current answer
    changes nothing."""
    return _transaction(lambda: booking_steps.set_patient_response(
        appointment_id, response, source=source, staff_id=staff_id))


def set_note(*, appointment_id: int, note: str | None, source: str,
             staff_id: int | None = None) -> Appointment:
    """Replace the appointment's (encrypted) note, in any status. It tells no other domain, so
    it is audited but publishes no event. Repeating the current note changes nothing."""
    return _transaction(lambda: booking_steps.set_note(appointment_id, note, source=source,
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
        appointment = booking_steps.locked_appointment(appointment_id)
        changes = []
        if booking_steps.slot_of(appointment) != new_slot:
            booking_steps.reschedule(appointment_id, new_slot, source=source,
                                     staff_id=staff_id, reason=None, now=now)
            changes.append("time")
        if appointment.patient_status != response:
            booking_steps.set_patient_response(appointment_id, response, source=source,
                                               staff_id=staff_id)
            changes.append("response")
        if appointment.status != status:
            if status == S.CANCELLED:
                booking_steps.cancel(appointment_id, cancel_reason or "", source=source,
                                     staff_id=staff_id)
            else:
                booking_steps.set_status(appointment_id, status, source=source, staff_id=staff_id)
            changes.append("status")
        old_note = appointment.note
        booking_steps.set_note(appointment_id, note, source=source, staff_id=staff_id)
        if appointment.note != old_note:
            changes.append("note")
        return changes

    try:
        return _transaction(work)
    except (booking_steps.SlotGone, ScheduleBusy) as gone:
        raise _lost(gone)(_alternatives(new_slot, source=source, now=now,
                                        appointment_id=appointment_id)) from None


def _lost(gone: Exception) -> type[SlotTaken]:
    """What a time that could not be had is called: outside working hours, or taken."""
    return OutsideHours if getattr(gone, "outside_hours", False) else SlotTaken


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
            limit=NEXT_SLOTS + 1, now=booking_steps.engine_now(kind, source, begin, now),
            exclude_appointment_id=appointment_id) if other != slot][:NEXT_SLOTS]
        if found:
            break
    db.session.rollback()  # end the read transaction: a caller may hold the session a while
    return found
