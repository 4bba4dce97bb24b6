"""Delivery events: what Twilio and SendGrid report about a message after we sent it.

Providers call back late, twice, and out of order, so every change is forward-only and
idempotent. The rank table is the whole rule: a message moves only to a status of strictly
higher rank, in one conditional UPDATE (so two callbacks racing cannot move it backwards).

=============  ====  ==========================================================
status         rank  note
=============  ====  ==========================================================
scheduled      0     a callback for it proves the provider has it: not resent
sending        1
sent           2     Twilio accepted / queued / sending / sent; SendGrid processed
undelivered    3     the carrier's receipt said no; a later "delivered" wins
delivered      4     final
failed         4     final: the provider never handed it on ("delivered" is impossible)
=============  ====  ==========================================================

Received, cancelled and suppressed messages are not in the table and never move.

Side effects run only when the status actually moved, so a replayed callback repeats none:
Twilio 21610 (the carrier holds a STOP) records an SMS opt-out; 21211 / 21612 / 21614 / 21635
/ 30006 mark the number unusable. SendGrid bounce, dropped and spam report mark the address
unusable; unsubscribe, group unsubscribe and spam report revoke email marketing consent (a
re-subscribe on SendGrid's page restores nothing: marketing needs an explicit grant recorded
in Frontdesk). SendGrid events are deduped by ``sg_event_id``.

Which practice: the one owning the message a callback or event is about (found across
practices by its provider id or our reference); its side effects then act for that practice
(``app.core.tenancy``). A SendGrid event matching no message (an unsubscribe, say) is applied
to the practice of a single-practice install only; with several practices it is skipped.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from app.adapters.email.base import REFERENCE_ARG
from app.adapters.sending import redact
from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import consent, policy
from app.messaging.conversations import contact_index
from app.messaging.inbound import only_practice
from app.messaging.models import Direction, Message, MessageStatus, Purpose, WebhookEvent

log = logging.getLogger(__name__)

STATUS_RANK: dict[str, int] = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.FAILED: 4,
}

# Twilio's MessageStatus -> ours. Accepted, scheduled, queued and sending all mean Twilio
# holds the message: our "sent" (the dispatcher records the API's "queued" the same way).
# "read" is a delivery receipt; canceled and partially_delivered change nothing.
TWILIO_STATUSES: dict[str, MessageStatus] = {
    "accepted": MessageStatus.SENT, "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT, "sending": MessageStatus.SENT, "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED, "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED, "failed": MessageStatus.FAILED,
}
TWILIO_OPTED_OUT = "21610"
TWILIO_UNUSABLE: dict[str, str] = {
    "21211": "invalid_number", "21612": "unroutable", "21614": "not_mobile",
    "21635": "landline", "30006": "landline",
}

SENDGRID_STATUSES: dict[str, MessageStatus] = {
    "processed": MessageStatus.SENT, "deferred": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED, "open": MessageStatus.DELIVERED,
    "click": MessageStatus.DELIVERED,
    "bounce": MessageStatus.FAILED, "dropped": MessageStatus.FAILED,
}
_MARKETING_REVOKED = frozenset({"unsubscribe", "group_unsubscribe", "spamreport"})


class DeliveryEventError(ValueError):
    """A callback's fields cannot be used; the message names the field."""


def _advance(message_id: int, status: MessageStatus, *, now: datetime,
             **values: Any) -> bool:
    """Move the message to ``status`` if that is forward; True when it moved."""
    lower = [name for name, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    values["status"] = status
    values["updated_at"] = now
    if status is MessageStatus.DELIVERED:
        values["delivered_at"] = now
    moved = db.session.execute(
        update(Message).where(Message.id == message_id, Message.status.in_(lower))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if moved and status is not MessageStatus.FAILED:
        db.session.execute(
            update(Message).where(Message.id == message_id, Message.sent_at.is_(None))
            .values(sent_at=now).execution_options(synchronize_session=False))
    return bool(moved)


def _claim_provider_id(message: Message, provider_message_id: str) -> None:
    """Record the provider's id on a message a crashed worker sent without recording it."""
    if message.provider_message_id is None and provider_message_id:
        db.session.execute(
            update(Message).where(Message.id == message.id,
                                  Message.provider_message_id.is_(None))
            .values(provider_message_id=provider_message_id)
            .execution_options(synchronize_session=False))


# --- Twilio status callbacks ---------------------------------------------------------------

@dataclass(frozen=True)
class StatusResult:
    message_id: int | None
    moved: bool


def apply_twilio_status(*, message_sid: str, status: str, error_code: str | None,
                        our_reference: str | None) -> StatusResult:
    """Apply one status callback and commit. ``our_reference`` is the ``m`` query argument
    the dispatcher puts in the callback URL (our message id), used when the MessageSid is not
    recorded yet because the worker died before recording it."""
    if not message_sid:
        raise DeliveryEventError("MessageSid: missing")
    with across_practices():  # the message decides the practice
        message = _twilio_message(message_sid, our_reference)
    target = TWILIO_STATUSES.get(status)
    if message is None or target is None:
        db.session.rollback()
        return StatusResult(message.id if message else None, False)
    with acting_for(message.practice_id):
        return _apply_twilio_status(message, message_sid, target, error_code)


def _apply_twilio_status(message: Message, message_sid: str, target: MessageStatus,
                         error_code: str | None) -> StatusResult:
    _claim_provider_id(message, message_sid)
    code = (error_code or "").strip()[:20] or None
    extra: dict[str, Any] = {"error_code": code} if code else {}
    moved = _advance(message.id, target, now=utcnow(), **extra)
    if moved and code and message.address:
        if code == TWILIO_OPTED_OUT:
            if not consent.is_opted_out(practice_id=message.practice_id, channel="sms",
                                        contact_index=contact_index("sms", message.address)):
                policy.record_carrier_opt_out(message)
        elif code in TWILIO_UNUSABLE:
            policy.flag_unusable(practice_id=message.practice_id, channel="sms",
                                 address=message.address, reason=TWILIO_UNUSABLE[code],
                                 code=code)
    db.session.commit()
    return StatusResult(message.id, moved)


def _twilio_message(message_sid: str, our_reference: str | None) -> Message | None:
    message = db.session.execute(
        select(Message).where(Message.provider_message_id == message_sid,
                              Message.direction == Direction.OUTBOUND)).scalar_one_or_none()
    if message is not None or not (our_reference or "").isdigit():
        return message
    candidate = db.session.get(Message, int(our_reference))
    if (candidate is None or candidate.direction != Direction.OUTBOUND
            or candidate.channel != "sms" or candidate.provider_message_id is not None):
        return None
    return candidate


# --- SendGrid event webhook ----------------------------------------------------------------

@dataclass
class EventsResult:
    applied: int = 0
    duplicates: int = 0
    unmatched: int = 0
    skipped: int = 0


def apply_sendgrid_events(events: Any) -> EventsResult:
    """Apply a posted batch of SendGrid events (each once, by ``sg_event_id``) and commit."""
    if not isinstance(events, list):
        raise DeliveryEventError("body: expected a JSON array of events")
    result = EventsResult()
    now = utcnow()
    for event in events:
        kind = event.get("event") if isinstance(event, dict) else None
        event_id = event.get("sg_event_id") if isinstance(event, dict) else None
        if not isinstance(kind, str) or not isinstance(event_id, str) or not event_id:
            result.skipped += 1
            continue
        with across_practices():  # the message (or the only practice) decides the practice
            message = _sendgrid_message(event)
            only = only_practice() if message is None else None
        if message is None:
            result.unmatched += 1
            if only is None:
                continue
        practice_id = message.practice_id if message else only.id
        with acting_for(practice_id):
            if insert_unless_exists(WebhookEvent, {
                "provider": "sendgrid", "event_id": _event_key(event_id),
                "practice_id": practice_id, "received_at": now,
            }, unique_on=["provider", "event_id"]) is None:
                result.duplicates += 1
                continue
            _apply_email_event(event, kind, message, practice_id, now=now)
        result.applied += 1
    db.session.commit()
    return result


def _event_key(event_id: str) -> str:
    """sg_event_id as stored: ids longer than the column are kept as their SHA-256."""
    return event_id if len(event_id) <= 100 else hashlib.sha256(event_id.encode()).hexdigest()


def _sendgrid_message(event: dict[str, Any]) -> Message | None:
    outbound_email = (Message.direction == Direction.OUTBOUND, Message.channel == "email")
    reference = event.get(REFERENCE_ARG)
    if isinstance(reference, str) and reference:
        message = db.session.execute(select(Message).where(
            Message.idempotency_key == reference, *outbound_email)).scalar_one_or_none()
        if message is not None:
            return message
    sg_message_id = event.get("sg_message_id")
    if isinstance(sg_message_id, str) and sg_message_id:
        return db.session.execute(select(Message).where(
            Message.provider_message_id == sg_message_id.split(".")[0], *outbound_email)
        ).scalar_one_or_none()
    return None


def _apply_email_event(event: dict[str, Any], kind: str, message: Message | None,
                       practice_id: int, *, now: datetime) -> None:
    email = event.get("email")
    address = email if isinstance(email, str) and "@" in email else (
        message.address if message else None)
    target = SENDGRID_STATUSES.get(kind)
    if message is not None and target is not None:
        sg_message_id = event.get("sg_message_id")
        if isinstance(sg_message_id, str):
            _claim_provider_id(message, sg_message_id.split(".")[0])
        extra: dict[str, Any] = {}
        if target is MessageStatus.FAILED:
            reason = event.get("reason")
            extra["status_reason"] = redact(f"{kind}: {reason if isinstance(reason, str) else ''}"
                                            ).strip(": ")[:120]
            if isinstance(event.get("status"), str):
                extra["error_code"] = event["status"][:20]
        _advance(message.id, target, now=now, **extra)
    if address is None:
        return
    if kind in ("bounce", "dropped", "spamreport"):
        bounce_type = event.get("type")
        reason = "spam_report" if kind == "spamreport" else (
            "blocked" if kind == "bounce" and bounce_type == "blocked" else kind)
        status = event.get("status")
        policy.flag_unusable(practice_id=practice_id, channel="email", address=address,
                             reason=reason, code=status[:20] if isinstance(status, str) else None)
    if kind in _MARKETING_REVOKED:
        consent.record(practice_id=practice_id, channel="email",
                       contact_index=contact_index("email", address),
                       purpose=Purpose.MARKETING, granted=False,
                       source=consent.ConsentSource.EMAIL_EVENT,
                       patient_id=message.patient_id if message else None,
                       message_id=message.id if message else None)
