"""What journeys does when the booking service announces a change (in its transaction).

* booked → the confirmation (unless the visit is under 2 hours away), the reminders, and the
  new-patient hook;
* moved (time, provider, location or type) → reminders re-timed and re-grouped; the patient's
  earlier confirmation no longer holds unless the patient moved it;
* cancelled → every queued message of the visit cancelled, its place in household reminders
  removed; an apology with a link to book again when the practice cancelled;
* checked in, fulfilled, no-show, entered in error → reminders and confirmation stop (a 2-hour
  reminder never follows a check-in); fulfilled → the review request after the delay, at most
  once per patient per period and never filtered by what the patient thinks of us; it is
  marketing (``Purpose.MARKETING``), so the send-time policy sends it only by a channel on
  which the patient gave marketing consent and otherwise suppresses it with the reason
  ("no marketing consent for sms; ..." on the patient's message log); no-show →
  "we missed you" with a link to book again;
* the patient accepted (e.g. through the FHIR API) → confirmed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.journeys import planner
from app.journeys.rules import journey_for
from app.messaging import outbox
from app.messaging.models import Message, MessageStatus, Purpose
from app.scheduling import events
from app.scheduling.models import Appointment, AppointmentStatus, ParticipantStatus

S = AppointmentStatus
_NOT_COUNTED = (MessageStatus.CANCELLED, MessageStatus.SUPPRESSED, MessageStatus.FAILED)


def on_booked(event: events.AppointmentBooked) -> None:
    planner.on_booked(_appointment(event))


def on_rescheduled(event: events.AppointmentRescheduled) -> None:
    appointment = _appointment(event)
    if appointment.patient_status != ParticipantStatus.ACCEPTED:
        appointment.confirmed_at = None
    appointment.running_late_at = appointment.running_late_minutes = None
    planner.plan_reminders(appointment, old_start=event.old_start_at,
                           old_type_id=event.old_appointment_type_id)


def on_cancelled(event: events.AppointmentCancelled) -> None:
    appointment = _appointment(event)
    outbox.cancel(idempotency_key_prefix=planner.own_key(appointment.id, ""),
                  reason="the visit was cancelled")
    planner.plan_reminders(appointment)
    if getattr(event, "by_practice", False) and journey_for(
            appointment.practice_id, appointment.appointment_type_id).apology:
        _follow_up(appointment, "apology", "journey_apology", Purpose.APPOINTMENT)


def on_status_changed(event: events.AppointmentStatusChanged) -> None:
    appointment = _appointment(event)
    if event.new_status not in planner.ACTIVE:
        outbox.cancel(idempotency_key_prefix=planner.own_key(appointment.id, "confirmation"),
                      reason=f"the visit is {event.new_status}")
    planner.plan_reminders(appointment)
    journey = journey_for(appointment.practice_id, appointment.appointment_type_id)
    if event.new_status == S.FULFILLED and journey.review and journey.review_url \
            and not _review_asked_lately(appointment.patient_id, journey.review_period):
        _follow_up(appointment, "review", "journey_review", Purpose.MARKETING,
                   delay=journey.review_delay)
    elif event.new_status == S.NOSHOW and journey.missed_you:
        _follow_up(appointment, "missed", "journey_missed_you", Purpose.APPOINTMENT)


def on_responded(event: events.PatientResponded) -> None:
    appointment = _appointment(event)
    if event.new_response == ParticipantStatus.ACCEPTED and appointment.confirmed_at is None:
        appointment.confirmed_at = utcnow()


def _appointment(event: events.AppointmentEvent) -> Appointment:
    return db.session.get(Appointment, event.appointment_id)


def _review_asked_lately(patient_id: int, period: timedelta) -> bool:
    since = utcnow() - period
    return db.session.execute(
        select(Message.id).where(Message.patient_id == patient_id,
                                 Message.template == "journey_review",
                                 Message.status.notin_(_NOT_COUNTED),
                                 Message.created_at >= since).limit(1)).first() is not None


def _follow_up(appointment: Appointment, what: str, template: str, purpose: Purpose, *,
               delay: timedelta | None = None) -> None:
    outbox.enqueue(practice_id=appointment.practice_id, purpose=purpose,
                   idempotency_key=planner.own_key(appointment.id, what),
                   patient_id=appointment.patient_id, template=template,
                   context={"appointment_ids": [appointment.id]}, capped=True,
                   send_at=utcnow() + delay if delay else None)
