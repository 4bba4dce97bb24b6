"""Planning a visit's messages through their idempotency keys.

Every change to an appointment plans its messages again; nothing is planned twice, because
each message has one key and planning again re-times, re-fills or cancels the row:

* ``j:a<appointment>:<what>``: the visit's own messages (confirmation, email reminders,
  follow-ups). Cancelling the visit cancels every still-queued one by this prefix.
* ``j:p:<step>:<phone index>:<local date>``: the text reminder of one step for every visit on
  that day whose patient has that mobile number, so a household sharing a phone gets one
  reminder naming all its visits. Its time is the earliest visit's start minus the step.

A step whose moment had already passed when the visit was booked is not planned (a visit
booked tomorrow gets no 3-day reminder). A planned message whose moment passes while the
worker is down is still sent if it is still useful: ``render`` cancels it at send time when
its visits have started or are gone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.journeys.rules import Journey, Step, journey_for
from app.messaging import outbox
from app.messaging.models import Message, MessageStatus, Purpose
from app.messaging.quiet_hours import wall_clock_instants
from app.patients.models import Patient
from app.scheduling.models import Appointment, AppointmentStatus

S = AppointmentStatus
ACTIVE = (S.BOOKED, S.PENDING)
CONFIRMATION_LEAD = timedelta(hours=2)  # no confirmation for a visit closer than this
PLANNING_GRACE = timedelta(minutes=5)

NewPatientVisitHook = Callable[[Appointment], None]
_new_patient_visit_hooks: list[NewPatientVisitHook] = []


def register_new_patient_visit(hook: NewPatientVisitHook) -> NewPatientVisitHook:
    """Let intake send its packet request when a new-patient visit is booked: ``hook`` runs
    in the booking's transaction with the appointment (it queues through the outbox)."""
    if hook not in _new_patient_visit_hooks:
        _new_patient_visit_hooks.append(hook)
    return hook


def own_key(appointment_id: int, what: str) -> str:
    return f"j:a{appointment_id}:{what}"


def phone_key(step: Step, phone_index: str, day: date) -> str:
    return f"j:p:{step.label}:{phone_index}:{day.isoformat()}"


def on_booked(appointment: Appointment) -> None:
    journey = journey_for(appointment.practice_id, appointment.appointment_type_id)
    now = utcnow()
    if journey.confirmation and appointment.status in ACTIVE \
            and appointment.start_at - now >= CONFIRMATION_LEAD:
        outbox.enqueue(practice_id=appointment.practice_id, purpose=Purpose.APPOINTMENT,
                       idempotency_key=own_key(appointment.id, "confirmation"),
                       patient_id=appointment.patient_id, template="journey_confirmation",
                       context={"appointment_ids": [appointment.id]})
    if appointment.appointment_type.for_new_patients:
        for hook in tuple(_new_patient_visit_hooks):
            hook(appointment)
    plan_reminders(appointment)


def plan_reminders(appointment: Appointment, *, old_start: datetime | None = None,
                   old_type_id: int | None = None) -> None:
    """(Re)plan the visit's reminders, and those of the moments it left (``old_start``).
    After a type change (``old_type_id``) the steps only the old type had are cancelled."""
    journey = journey_for(appointment.practice_id, appointment.appointment_type_id)
    patient = appointment.patient
    zone = ZoneInfo(appointment.location.timezone)
    days = {appointment.start_at.astimezone(zone).date()}
    if old_start is not None:
        days.add(old_start.astimezone(zone).date())
    old = None if old_type_id in (None, appointment.appointment_type_id) \
        else journey_for(appointment.practice_id, old_type_id)
    for step in _all_steps(appointment.practice_id, journey, old):
        for channel in ("sms", "email"):
            if channel == "sms" and patient.mobile_phone_index:
                for day in days:
                    plan_phone_moment(appointment.practice_id, patient.mobile_phone_index,
                                      step, day, zone)
                continue
            key = own_key(appointment.id, f"{step.label}:{channel}")
            # email, or (no mobile number) the text step by email instead
            wanted = channel == "email" and ("email" in step.channels or (
                "sms" in step.channels and not patient.mobile_phone_index))
            if wanted and appointment.status in ACTIVE and step in journey.steps:
                _put(key, [appointment], step, channel=channel)
            else:
                outbox.cancel(idempotency_key_prefix=key, reason="no longer part of the journey")


def _all_steps(practice_id: int, journey: Journey, old: Journey | None = None
               ) -> tuple[Step, ...]:
    """This journey's steps, the practice default's and the old type's (a type change may
    drop some: planning them again cancels them)."""
    default = journey_for(practice_id, None)
    earlier = old.steps if old is not None else ()
    steps = {step.label: step for step in (*earlier, *default.steps, *journey.steps)}
    return tuple(steps.values())


def plan_phone_moment(practice_id: int, phone_index: str, step: Step, day: date,
                      zone: ZoneInfo) -> None:
    """Plan the text reminder of ``step`` for the visits on ``day`` of the patients sharing
    the mobile number ``phone_index``."""
    start = wall_clock_instants(day, time(0, 0), zone)[0]
    end = wall_clock_instants(day + timedelta(days=1), time(0, 0), zone)[0]
    visits = db.session.execute(
        select(Appointment).join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.practice_id == practice_id, Patient.mobile_phone_index == phone_index,
               Appointment.start_at >= start, Appointment.start_at < end,
               Appointment.status.in_(ACTIVE))
        .order_by(Appointment.start_at, Appointment.id)).scalars().all()
    wanted = [visit for visit in visits if _has_sms_step(visit, step)]
    _put(phone_key(step, phone_index, day), wanted, step, channel="sms")


def _has_sms_step(visit: Appointment, step: Step) -> bool:
    steps = journey_for(visit.practice_id, visit.appointment_type_id).steps
    return any(own.label == step.label and "sms" in own.channels for own in steps)


def _put(key: str, visits: Sequence[Appointment], step: Step, *, channel: str) -> None:
    if not visits:
        outbox.cancel(idempotency_key_prefix=key, reason="no visit left at this moment")
        return
    send_at = visits[0].start_at - step.before
    context: dict[str, Any] = {"appointment_ids": [visit.id for visit in visits],
                               "step": step.label}
    existing = db.session.execute(
        select(Message).where(Message.idempotency_key == key)).scalar_one_or_none()
    too_late = send_at < utcnow() - PLANNING_GRACE
    if existing is None:
        if not too_late:
            outbox.enqueue(practice_id=visits[0].practice_id, purpose=Purpose.APPOINTMENT,
                           idempotency_key=key, patient_id=visits[0].patient_id,
                           channel=channel, template="journey_reminder", context=context,
                           send_at=send_at)
        return
    unchanged = (existing.status == MessageStatus.SCHEDULED and existing.send_at == send_at
                 and json.loads(existing.context or "{}") == context)
    if unchanged or existing.status not in (MessageStatus.SCHEDULED, MessageStatus.CANCELLED):
        return
    if too_late:
        outbox.cancel(idempotency_key_prefix=key, reason="its moment passed before planning")
    else:
        outbox.retime(message_id=existing.id, send_at=send_at, context=context)
    db.session.expire(existing)
