"""Patients' replies to journey messages: the intent handler (``messaging.intents``).

A reply applies to the visit(s) named in the most recent journey message to that number (a
reminder, a confirmation, our own answer); with none, to the number's one upcoming visit.
When that is not exactly one visit (a household's shared reminder, two upcoming visits) the
reply is left for staff, unread, with ``Message.suggested_action`` saying what it most likely
asks. What each reply does (``understanding`` says what it means):

* confirm (``C``, "confirm", 👍, or a plain "yes" while the visit is unconfirmed) → the
  patient's answer becomes accepted, ``confirmed_at`` is set (the schedule shows it), and
  the patient is thanked; later reminders no longer ask;
* cancel (``N``, "I can't make it", a plain "no") → "Reply N again to cancel your visit on
  …"; only a cancel reply to that check cancels (through the booking service, so the freed
  time reaches the waitlist). CANCEL itself never gets here: it is the carrier's opt-out;
* reschedule → the visit's reschedule link (online booking pre-filled; the time picked moves
  this visit, ``scheduling.moves``), and left for staff as well;
* running late → marked on the visit for the schedule, and acknowledged;
* wrong number → the number is flagged unusable (nothing more is sent to it) and left for
  staff to correct the record; "who is this?" → who we are;
* anything else → left for staff, never an "invalid response".

A YES that takes a waitlist offer is the waitlist's (``scheduling.waitlist.intent``); its
answer is the journey's confirmation, sent at once (``answer_waitlist_yes``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import func, select

from app.core.clock import utcnow
from app.extensions import db
from app.journeys.planner import own_key
from app.journeys.understanding import Intent, understand
from app.messaging import outbox, policy
from app.messaging.models import Direction, Message, MessageStatus, Purpose
from app.patients.models import Patient
from app.scheduling import booking_steps
from app.scheduling.models import Appointment, AppointmentStatus, ParticipantStatus

ACTIVE = (AppointmentStatus.BOOKED, AppointmentStatus.PENDING)
_ASKING = ("journey_confirmation", "journey_reminder")
_GONE = (MessageStatus.CANCELLED, MessageStatus.SUPPRESSED, MessageStatus.FAILED)
CANCEL_REASON = "The patient replied N twice by text"


def handle_reply(message: Message, patients: Sequence[Patient], text: str) -> bool:
    if not patients or message.channel != "sms":
        return False
    understood = understand(message.body or "")
    intent = understood.intent
    if intent is Intent.UNKNOWN:
        return False
    if intent is Intent.WRONG_NUMBER:
        policy.flag_unusable(practice_id=message.practice_id, channel="sms",
                             address=message.address or "", reason="wrong_number", code=None)
        return _leave(message, intent)
    if intent is Intent.WHO_IS_THIS:
        _reply(message, "journey_who", [], patient_id=patients[0].id)
        return True
    latest = _latest(message)
    visits = _visits(latest, patients)
    asked = latest is not None and latest.template in _ASKING
    if intent is Intent.YES:
        if not (asked and any(visit.confirmed_at is None for visit in visits)):
            return False
        intent = Intent.CONFIRM
    checking = latest is not None and latest.template == "journey_cancel_check"
    if intent is Intent.NO:
        if checking:
            return _leave(message, Intent.NO)
        intent = Intent.CANCEL
    if len(visits) != 1:
        return _leave(message, intent)
    return _act(message, intent, visits[0], checked=checking,
                minutes=understood.minutes_late)


def answer_waitlist_yes(message: Message, appointment: Appointment) -> None:
    """The one text a patient gets after taking a waitlist offer: the visit's confirmation
    (date, time, address, provider, C / R / N, the visit page) as the immediate answer to the
    YES, even under 2 hours before the visit or at night. The confirmation the booking
    planned is cancelled, so no second one follows."""
    outbox.cancel(idempotency_key_prefix=own_key(appointment.id, "confirmation"),
                  reason="sent as the answer to the patient's YES")
    _reply(message, "journey_confirmation", [appointment.id], patient_id=appointment.patient_id)


def _act(message: Message, intent: Intent, visit: Appointment, *, checked: bool,
         minutes: int | None) -> bool:
    now = utcnow()
    if intent is Intent.CONFIRM:
        booking_steps.set_patient_response(visit.id, ParticipantStatus.ACCEPTED,
                                           source="patient", staff_id=None)
        visit.confirmed_at = visit.confirmed_at or now
        _reply(message, "journey_confirmed", [visit.id], patient_id=visit.patient_id)
    elif intent is Intent.CANCEL and checked:
        booking_steps.cancel(visit.id, CANCEL_REASON, source="patient", staff_id=None)
        _reply(message, "journey_cancelled", [visit.id], patient_id=visit.patient_id)
    elif intent is Intent.CANCEL:
        _reply(message, "journey_cancel_check", [visit.id], patient_id=visit.patient_id)
    elif intent is Intent.RESCHEDULE:
        _reply(message, "journey_reschedule", [visit.id], patient_id=visit.patient_id)
        return _leave(message, intent)
    elif intent is Intent.RUNNING_LATE:
        visit.running_late_at, visit.running_late_minutes = now, minutes
        _reply(message, "journey_late", [visit.id], patient_id=visit.patient_id)
    return True


def _latest(message: Message) -> Message | None:
    """The most recent journey message to this number: sent, or our immediate answer
    (queued in this or an earlier reply's transaction)."""
    if message.conversation_id is None:
        return None
    return db.session.execute(
        select(Message).where(
            Message.conversation_id == message.conversation_id,
            Message.direction == Direction.OUTBOUND, Message.template.startswith("journey_"),
            Message.status.notin_(_GONE),
            (Message.status != MessageStatus.SCHEDULED) | Message.is_immediate_reply)
        .order_by(func.coalesce(Message.sent_at, Message.created_at).desc(),
                  Message.id.desc()).limit(1)).scalar_one_or_none()


def _visits(latest: Message | None, patients: Sequence[Patient]) -> list[Appointment]:
    """The visits a reply is about: the latest message's, still coming, else the number's
    upcoming ones."""
    now = utcnow()
    query = select(Appointment).where(
        Appointment.patient_id.in_([patient.id for patient in patients]),
        Appointment.status.in_(ACTIVE), Appointment.end_at > now)
    ids = json.loads(latest.context or "{}").get("appointment_ids") if latest else None
    if ids:
        query = query.where(Appointment.id.in_(ids))
    return list(db.session.execute(query.order_by(Appointment.start_at).limit(3)).scalars())


def _leave(message: Message, intent: Intent) -> bool:
    """Leave the reply for staff (unread, under the inbox's "needs action") with the action it
    likely asks."""
    message.suggested_action = intent.value
    message.needs_staff_action = True
    return False


def _reply(message: Message, template: str, appointment_ids: list[int], *,
           patient_id: int) -> None:
    outbox.enqueue(practice_id=message.practice_id, purpose=Purpose.APPOINTMENT,
                   immediate_reply=True, in_reply_to_id=message.id,
                   conversation_id=message.conversation_id, channel="sms",
                   address=message.address, patient_id=patient_id, template=template,
                   context={"appointment_ids": appointment_ids},
                   idempotency_key=f"jr:{message.id}:{template}")
