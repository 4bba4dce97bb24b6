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

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from app.core import phones
from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.extensions import db
from app.messaging import consent, send_facts
from app.messaging.conversations import contact_index
from app.messaging.frequency import next_time_under_caps
from app.messaging.models import ContactPointStatus, Message, Purpose
from app.messaging.quiet_hours import NoSendingTime, next_allowed_send_time
from app.patients.models import Patient
from app.practice.models import Practice


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


def decide(message: Message, *, now: datetime | None = None,
           facts: send_facts.SendFacts | None = None) -> Decision:
    """Whether ``message`` may go now, where and in which language, or why not. ``facts``:
    what the rules read, loaded for the worker's whole batch (``send_facts.load``); loaded
    for this message alone when not given."""
    now = now or utcnow()
    if facts is None:
        facts = send_facts.load([message], now=now)
    practice = facts.practices[message.practice_id]
    patient = facts.patients.get(message.patient_id) if message.patient_id else None
    practice_context = {"name": practice.name, "phone": _display(practice.phone)}
    patient_context = {"given_name": patient.given_name} if patient else {}
    language = patient.preferred_language if patient else (message.language or "en")

    candidates = send_facts.contact_points(message, patient)
    if not candidates:
        return Decision(False, "no phone number or email on file")
    refusals: list[str] = []
    chosen: tuple[str, str] | None = None
    for channel, address in candidates:
        index = facts.index(channel, address)
        if (message.practice_id, channel, index) in facts.unusable:
            reason = facts.unusable[(message.practice_id, channel, index)]
            refusals.append(f"{channel} unusable: {reason}")
            continue
        if not _answers_a_keyword(message):
            state = consent.state_from(
                lambda purpose, c=channel, i=index: facts.latest_consent(
                    message.practice_id, c, i, purpose),
                channel=channel, purpose=message.purpose)
            if not state.allowed:
                refusals.append(state.rule)
                continue
        chosen = (channel, address)
        break
    if chosen is None:
        return Decision(False, "; ".join(refusals)[:120])

    if not message.is_immediate_reply:
        zone = facts.zones.get(patient.id, practice.timezone) if patient else practice.timezone
        earliest = now
        if message.capped and patient is not None:
            earliest = next_time_under_caps(
                now, sent_utc=facts.capped_send_times(message, *chosen), tz=zone,
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


@lru_cache(maxsize=256)
def _display(phone: str | None) -> str:
    return phones.display(phone)


def _answers_a_keyword(message: Message) -> bool:
    """The immediate answer to a keyword the patient just sent (the opt-out confirmation,
    HELP) goes even to a number that has opted out: CTIA expects both at any time."""
    return message.purpose == Purpose.SYSTEM and message.is_immediate_reply


def register_visit_zones(resolver: send_facts.VisitZones) -> send_facts.VisitZones:
    """Let a domain above messaging name the zones of the places patients visit
    (scheduling: the location of each one's next appointment, else their latest), so
    messaging imports no such domain. ``resolver(patient_ids)`` returns {patient_id: IANA
    zone} for the patients that have one, acting for their practice; registering it again
    is a no-op."""
    if resolver not in send_facts.visit_zone_resolvers:
        send_facts.visit_zone_resolvers.append(resolver)
    return resolver


def patient_timezone(patient: Patient | None, practice: Practice) -> str:
    """The zone of the place the patient visits (``register_visit_zones``), else the
    practice's zone."""
    if patient is not None:
        for resolver in tuple(send_facts.visit_zone_resolvers):
            zone = resolver([patient.id]).get(patient.id)
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
