"""The rules applied to every outbound message at send time, not only when it was queued
(a patient may opt out, change number or move between the two).

In order: a contact point (the patient's preferred channel, falling back to the other), that
the providers have not reported unusable, that consent allows for the message's purpose; then
timing — frequency caps for non-urgent messages, then quiet hours in the patient's zone.
Immediate replies to something the patient just sent skip the timing rules, and the answers
to keywords (opt-out confirmation, HELP) skip consent too. Every refusal
carries the rule, shown on the patient's message log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, or_, select

from app.core import phones
from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.frequency import next_time_under_caps
from app.messaging.models import (
    ContactPointStatus,
    Conversation,
    Message,
    MessageStatus,
    Purpose,
)
from app.messaging.quiet_hours import NoSendingTime, next_allowed_send_time
from app.patients.models import Patient
from app.practice.models import Practice

_COUNTED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None
    defer_until: datetime | None = None
    channel: str = ""
    address: str = ""
    language: str = "en"
    practice_context: dict[str, Any] = field(default_factory=dict)
    patient_context: dict[str, Any] = field(default_factory=dict)


def decide(message: Message, *, now: datetime | None = None) -> Decision:
    now = now or utcnow()
    practice = db.session.get(Practice, message.practice_id)
    patient = db.session.get(Patient, message.patient_id) if message.patient_id else None
    practice_context = {"name": practice.name, "phone": phones.display(practice.phone)}
    patient_context = {"given_name": patient.given_name} if patient else {}
    language = patient.preferred_language if patient else (message.language or "en")

    candidates = _contact_points(message, patient)
    if not candidates:
        return Decision(False, "no phone number or email on file")
    refusals: list[str] = []
    chosen: tuple[str, str] | None = None
    for channel, address in candidates:
        index = contact_index(channel, address)
        unusable = _unusable_reason(message.practice_id, channel, index)
        if unusable:
            refusals.append(unusable)
            continue
        if not _answers_a_keyword(message):
            state = consent.state(practice_id=message.practice_id, channel=channel,
                                  contact_index=index, purpose=message.purpose)
            if not state.allowed:
                refusals.append(state.rule)
                continue
        chosen = (channel, address)
        break
    if chosen is None:
        return Decision(False, "; ".join(refusals)[:120])

    if not message.is_immediate_reply:
        zone = patient_timezone(patient, practice)
        earliest = now
        if message.capped and patient is not None:
            earliest = next_time_under_caps(
                now, sent_utc=_capped_send_times(message, now, chosen), tz=zone,
                per_day=practice.capped_per_day, per_week=practice.capped_per_week)
        try:
            allowed_at = next_allowed_send_time(
                earliest, tz=zone, start=practice.send_window_start,
                end=practice.send_window_end, state=patient.state if patient else None)
        except NoSendingTime as never:
            return Decision(False, f"{never} (practice window "
                                   f"{practice.send_window_start:%H:%M}-"
                                   f"{practice.send_window_end:%H:%M})"[:120])
        if allowed_at > now:
            reason = ("frequency cap" if earliest > now else "quiet hours") + \
                f" in {zone}"
            return Decision(False, reason, defer_until=allowed_at)
    return Decision(True, channel=chosen[0], address=chosen[1], language=language,
                    practice_context=practice_context, patient_context=patient_context)


def _answers_a_keyword(message: Message) -> bool:
    """The immediate answer to a keyword the patient just sent (the opt-out confirmation,
    HELP) goes even to a number that has opted out: CTIA expects both at any time."""
    return message.purpose == Purpose.SYSTEM and message.is_immediate_reply


def _contact_points(message: Message, patient: Patient | None) -> list[tuple[str, str]]:
    if message.address:
        return [(message.channel, message.address)]
    if patient is None:
        return []
    if message.channel:
        order = [message.channel]
    else:
        order = [patient.preferred_channel] + [c for c in ("sms", "email")
                                               if c != patient.preferred_channel]
    points = []
    for channel in order:
        address = patient.mobile_phone if channel == "sms" else patient.email
        if address:
            points.append((channel, address))
    return points


def _unusable_reason(practice_id: int, channel: str, index: str) -> str | None:
    status = db.session.execute(
        select(ContactPointStatus).where(ContactPointStatus.practice_id == practice_id,
                                         ContactPointStatus.channel == channel,
                                         ContactPointStatus.contact_index == index)
    ).scalar_one_or_none()
    if status is None or status.usable:
        return None
    return f"{channel} unusable: {status.reason}"


def _capped_send_times(message: Message, now: datetime,
                       contact: tuple[str, str]) -> list[datetime]:
    """Send times of the capped messages to this patient or to the phone number it goes to
    (a household shares one) in the last 8 days, counting messages other workers are sending
    right now with a lower id (so two never both pass)."""
    same_phone = Message.conversation_id.in_(
        select(Conversation.id).where(Conversation.practice_id == message.practice_id,
                                      Conversation.channel == "sms",
                                      Conversation.contact_index == contact_index(*contact))
    ) if contact[0] == "sms" else false()
    rows = db.session.execute(
        select(Message.sent_at, Message.sending_started_at, Message.status).where(
            or_(Message.patient_id == message.patient_id, same_phone), Message.capped,
            Message.id != message.id,
            or_(Message.status.in_(_COUNTED),
                (Message.status == MessageStatus.SENDING) & (Message.id < message.id)),
            or_(Message.sent_at >= now - timedelta(days=8),
                Message.sending_started_at >= now - timedelta(days=8)))).all()
    return [sent_at or started for sent_at, started, _ in rows if sent_at or started]


VisitZone = Callable[[int], str | None]
_visit_zones: list[VisitZone] = []


def register_visit_zone(resolver: VisitZone) -> VisitZone:
    """Let a domain above messaging name the zone of the place a patient visits (scheduling:
    the location of their next appointment, else their latest), so messaging imports no such
    domain. ``resolver(patient_id)`` returns an IANA zone or None; registering it again is a
    no-op."""
    if resolver not in _visit_zones:
        _visit_zones.append(resolver)
    return resolver


def patient_timezone(patient: Patient | None, practice: Practice) -> str:
    """The zone of the place the patient visits (``register_visit_zone``), else the
    practice's zone."""
    if patient is not None:
        for resolver in tuple(_visit_zones):
            zone = resolver(patient.id)
            if zone:
                return zone
    return practice.timezone


def flag_unusable(*, practice_id: int, channel: str, address: str, reason: str,
                  code: str | None) -> None:
    """Record that a provider says this phone or email cannot receive messages."""
    index = contact_index(channel, address)
    created = insert_unless_exists(ContactPointStatus, {
        "practice_id": practice_id, "channel": channel, "contact_index": index,
        "usable": False, "reason": reason, "error_code": code, "updated_at": utcnow(),
    }, unique_on=["practice_id", "channel", "contact_index"])
    if created is None:
        db.session.execute(
            ContactPointStatus.__table__.update()
            .where(ContactPointStatus.practice_id == practice_id,
                   ContactPointStatus.channel == channel,
                   ContactPointStatus.contact_index == index)
            .values(usable=False, reason=reason, error_code=code, updated_at=utcnow()))


def record_carrier_opt_out(message: Message) -> None:
    """Twilio 21610: the carrier holds a STOP for this number. Record it as an opt-out so
    staff never see consent "on" while every text is blocked."""
    consent.record(practice_id=message.practice_id, channel="sms",
                   contact_index=contact_index("sms", message.address), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.CARRIER,
                   patient_id=message.patient_id, message_id=message.id,
                   reason="carrier reported the number unsubscribed (21610)")
