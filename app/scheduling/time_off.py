"""Time off over booked visits: which visits it falls on, and moving or cancelling each with
a text telling the patient.

Adding time off never touches a booked visit by itself (``calendars.add_time_off``): the
manager is shown the visits it covers (``affected``) with the next open times of the same
type at the same location, and moves (``move``) or cancels (``cancel``) each one. Either goes
through the booking service, and the patient's text is queued in the same transaction
(``outbox.enqueue``: consent and quiet hours apply when it is sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Purpose
from app.scheduling import booking, slots
from app.scheduling.booking_rules import MOVABLE_STATUSES
from app.scheduling.grid import SlotRow
from app.scheduling.models import Appointment, ScheduleException
from app.scheduling.open_time import TIME_OFF
from app.scheduling.slots import Slot
from app.scheduling.waitlist.offers import slot_context
from app.security import audit

MOVE_CHOICES = 3
CANCEL_REASON = "The provider is not available at that time (time off)"


class TimeOffNotFound(LookupError):
    """No such time off on this provider's calendar in this practice."""


@dataclass(frozen=True)
class AffectedVisit:
    appointment: Appointment
    starts: datetime  # in the location's zone
    moves: list[SlotRow]  # the next open times of its type at its location


def time_off(*, practice_id: int, provider_id: int, exception_id: int) -> ScheduleException:
    found = db.session.get(ScheduleException, exception_id)
    if found is None or found.practice_id != practice_id or found.provider_id != provider_id \
            or found.kind != TIME_OFF:
        raise TimeOffNotFound(exception_id)
    return found


def affected(*, practice_id: int, provider_id: int, exception_id: int,
             now: datetime | None = None) -> list[AffectedVisit]:
    """The provider's visits still to come in the time off (at its location, or anywhere
    when it covers every location), each with its next open times; audited as read."""
    block = time_off(practice_id=practice_id, provider_id=provider_id,
                     exception_id=exception_id)
    now = now or utcnow()
    query = select(Appointment).where(
        Appointment.practice_id == practice_id, Appointment.provider_id == provider_id,
        Appointment.status.in_([str(s) for s in MOVABLE_STATUSES]),
        Appointment.start_at < block.ends_at, Appointment.end_at > block.starts_at,
        Appointment.end_at > now).order_by(Appointment.start_at, Appointment.id)
    if block.location_id is not None:
        query = query.where(Appointment.location_id == block.location_id)
    visits = [AffectedVisit(appointment, appointment.start_at.astimezone(
        ZoneInfo(appointment.location.timezone)), _moves(appointment, now))
        for appointment in db.session.execute(query).scalars()]
    for visit in visits:
        audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=visit.appointment.patient_id,
                     object_type="appointment", object_id=visit.appointment.id,
                     detail={"query": "time_off_affected"})
    db.session.commit()
    return visits


def count_affected(*, practice_id: int, provider_id: int, exception_id: int) -> int:
    """How many visits still to come the time off covers (ids only: nothing to audit)."""
    block = time_off(practice_id=practice_id, provider_id=provider_id,
                     exception_id=exception_id)
    query = select(Appointment.id).where(
        Appointment.practice_id == practice_id, Appointment.provider_id == provider_id,
        Appointment.status.in_([str(s) for s in MOVABLE_STATUSES]),
        Appointment.start_at < block.ends_at, Appointment.end_at > block.starts_at,
        Appointment.end_at > utcnow())
    if block.location_id is not None:
        query = query.where(Appointment.location_id == block.location_id)
    return len(db.session.execute(query).all())


def _moves(appointment: Appointment, now: datetime) -> list[SlotRow]:
    kind, zone = appointment.appointment_type, ZoneInfo(appointment.location.timezone)
    begin = now.astimezone(UTC)
    names = {p.id: p.display_name for p in appointment.location.providers}
    return [SlotRow(slot, slot.start.astimezone(zone), names.get(slot.provider_id, ""))
            for slot in slots.find_open_slots(
                appointment_type_id=kind.id, location_id=appointment.location_id,
                start=begin, end=begin + timedelta(days=max(kind.max_days_ahead, 1)),
                limit=MOVE_CHOICES, now=begin - timedelta(minutes=kind.min_notice_minutes or 0),
                exclude_appointment_id=appointment.id)]


def cancel(*, practice_id: int, appointment_id: int, staff_id: int) -> Appointment:
    """Cancel the visit for the time off and text the patient (booking service errors
    propagate)."""
    _own(practice_id, appointment_id)
    return booking.cancel(appointment_id=appointment_id, reason=CANCEL_REASON, source="staff",
                          staff_id=staff_id, then=lambda a: _tell(a, "visit_cancelled"))


def move(*, practice_id: int, appointment_id: int, new_slot: Slot, staff_id: int
         ) -> Appointment:
    """Move the visit out of the time off and text the patient its new time."""
    _own(practice_id, appointment_id)
    return booking.reschedule(appointment_id=appointment_id, new_slot=new_slot, source="staff",
                              staff_id=staff_id, reason=CANCEL_REASON,
                              then=lambda a: _tell(a, "visit_moved"))


def _own(practice_id: int, appointment_id: int) -> None:
    found = db.session.get(Appointment, appointment_id)
    if found is None or found.practice_id != practice_id:
        raise booking.AppointmentNotFound(appointment_id)


def _tell(appointment: Appointment, template: str) -> None:
    """Queue the patient's text about the change, in the booking transaction."""
    outbox.enqueue(
        practice_id=appointment.practice_id, purpose=Purpose.APPOINTMENT,
        patient_id=appointment.patient_id, channel="sms", template=template,
        context=slot_context(appointment, appointment.provider, appointment.location,
                             appointment.patient.preferred_language),
        idempotency_key=f"{template}:{appointment.id}:{appointment.start_at.isoformat()}")
