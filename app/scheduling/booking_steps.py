"""The steps of ``booking``'s changes, each inside a transaction the caller owns: the checks,
the locks (appointment, provider, patient, in that order), the change, its audit event and its
domain event. ``booking`` runs them as transactions of their own; nothing else should call
them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text

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
    BookingInputError,
    check_actor,
    check_slot,
    check_transition,
    clean_text,
    too_early_or_late,
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

S = AppointmentStatus


class SlotGone(Exception):
    """Inside the transaction: the slot failed the locked re-check; ``outside_hours`` when
    the provider does not even work then (not a lost race)."""

    def __init__(self, *, outside_hours: bool = False) -> None:
        super().__init__()
        self.outside_hours = outside_hours


def book(*, patient_id: int, slot: Slot, source: str, staff_id: int | None,
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


def reschedule(appointment_id: int, new_slot: Slot, *, source: str, staff_id: int | None,
                reason: str | None, now: datetime) -> Appointment:
    appointment = locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    clean_reason = clean_text(errors, "reason", reason)
    if appointment.status not in MOVABLE_STATUSES:
        errors["appointment_id"] = _("a %(status)s appointment cannot be moved",
                                     status=appointment.status)
    kind = check_slot(errors, new_slot, practice_id=appointment.practice_id,
                      source=source, now=now)
    if not errors and slot_of(appointment) == new_slot:
        errors["start"] = _("is already the appointment's time")
    if errors:
        raise BookingInputError(errors)
    assert kind is not None  # no appointment_type_id error
    _claim(new_slot, kind=kind, patient_id=appointment.patient_id, source=source, now=now,
           appointment_id=appointment.id)
    old = slot_of(appointment)
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


def cancel(appointment_id: int, reason: str, *, source: str, staff_id: int | None,
           by_practice: bool = False) -> Appointment:
    appointment = locked_appointment(appointment_id)
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
              staff=staff, detail={"old_status": old_status}, old_status=old_status,
              by_practice=by_practice)
    return appointment


def set_status(appointment_id: int, status: str, *, source: str, staff_id: int | None
                ) -> Appointment:
    appointment = locked_appointment(appointment_id)
    errors: dict[str, str] = {}
    staff = check_actor(errors, source=source, staff_id=staff_id,
                        practice_id=appointment.practice_id)
    if status not in TRANSITIONS:
        errors["status"] = _("unknown status %(status)r", status=status)
    elif status == S.CANCELLED:
        errors["status"] = _("cancelling needs a reason: cancel the appointment instead")
    elif (when := too_early_or_late(appointment, status, now=utcnow())) is not None:
        errors["status"] = when
    if errors:
        raise BookingInputError(errors)
    old_status = appointment.status
    check_transition(old_status, status, source=source)
    appointment.status = str(status)
    _announce(appointment, events.AppointmentStatusChanged, change="status", source=source,
              staff=staff, detail={"old_status": old_status, "status": str(status)},
              old_status=old_status, new_status=str(status))
    return appointment


def set_patient_response(appointment_id: int, response: str, *, source: str,
                          staff_id: int | None) -> Appointment:
    appointment = locked_appointment(appointment_id)
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


def set_note(appointment_id: int, note: str | None, *, source: str, staff_id: int | None
              ) -> Appointment:
    appointment = locked_appointment(appointment_id)
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


def _lock(table_name: str, row_id: int) -> None:
    """Hold the row (SQLite: the whole database) until the transaction ends."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SELECT id FROM {table_name} WHERE id = :id "  # noqa: S608
                                "FOR NO KEY UPDATE"), {"id": row_id})
    else:
        db.session.execute(text(f"UPDATE {table_name} SET id = id WHERE id = :id"),  # noqa: S608
                           {"id": row_id})


def locked_appointment(appointment_id: int) -> Appointment:
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
    if not slots.slot_is_open(slot=slot, now=engine_now(kind, source, slot.start, now),
                              exclude_appointment_id=appointment_id):
        raise SlotGone(outside_hours=not slots.within_hours(slot))


def engine_now(kind: AppointmentType, source: str, at: datetime, now: datetime) -> datetime:
    """The "now" to give the slot engine. Its notice and horizon rules are the patient's; for
    anyone else, ask as if it were just early enough for ``at`` to pass them."""
    if source == "patient":
        return now
    return at - timedelta(minutes=kind.min_notice_minutes or 0)


def _response_on_booking(source: str) -> str:
    """A patient who picks the time has accepted it; anyone else's choice awaits an answer."""
    return ParticipantStatus.ACCEPTED if source == "patient" else ParticipantStatus.NEEDS_ACTION


def slot_of(appointment: Appointment) -> Slot:
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
