"""Inbound SMS: store what a patient texted, then route it.

``receive_sms`` runs for every text Twilio posts to ``/webhooks/twilio/sms`` — the webhook
stores it and the worker routes it (``messaging.inbound_queue``) — in one transaction
committed once at the end:

1. **dedupe** on Twilio's ``MessageSid`` (an INSERT that does nothing when the sid is stored):
   a retried webhook stores nothing new and queues no second reply;
2. **match** the sender's number to patients through the blind index: one conversation per
   number, linked to every patient who shares it (a household), or to none (unknown number);
3. **route**, first match wins:

   * opt-out keyword → revoke SMS consent for everything on that number and queue the
     confirmation (the one text the dispatcher still sends to an opted-out number);
   * opt-in keyword (START, UNSTOP, YES while opted out) → restore consent and confirm;
   * HELP / INFO → queue the CTIA help reply;
   * a registered intent handler (``messaging.intents``) that takes it;
   * otherwise the shared inbox: the conversation is marked unread for every staff member
     (``last_inbound_at``) and reopened (closed or snoozed).

Decisions:

* Handled messages (keywords and intents) are stored in the conversation but do not mark it
  unread: nothing is left for staff to do. The consent change shows in the ledger.
* ``Message.status_reason`` on the inbound row says how it was routed: ``opt_out``,
  ``opt_in``, ``help``, ``intent``, or ``likely_opt_out`` — free text that reads as a
  revocation ("please stop texting me"). That last one is left unread for staff with a
  one-click action (FCC 24-24), which calls ``consent.record`` with source ``staff``; the text
  itself revokes nothing because the phrases are heuristics. Plain inbox messages have none.
  A likely opt-out also sets ``Message.needs_staff_action`` (the inbox's "needs action"; an
  intent handler may set it too on a reply it could not act on).
* Auto-replies are queued with the idempotency key ``reply:<inbound id>:<kind>``, so one
  inbound message can never cause two.
* A sender that is not a phone number (a short code, an alphanumeric id) is stored as sent and
  its raw text is the conversation's contact key.
* Which practice: the one owning the Messaging Service (``MessagingServiceSid``) or number
  (``To``) the text was sent to (``Practice.sms_messaging_service_sid`` / ``sms_from_number``).
  The deployment's own sender (TWILIO_MESSAGING_SERVICE_SID / TWILIO_FROM_NUMBER) counts only
  while exactly one practice exists (a single-practice install). A text to a sender no
  practice owns is refused (``UnknownRecipient``) and stores nothing here (the inbound queue
  keeps it, refused, for an operator). Everything after the routing acts for that practice
  (``app.core.tenancy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import aliased

from app.core import phones
from app.core.clock import utcnow
from app.core.db import insert_returning_unless_exists
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import consent, conversations, intents, outbox
from app.messaging import media as mms
from app.messaging.keywords import (
    Keyword,
    classify_inbound,
    looks_like_revocation,
    normalize_reply,
)
from app.messaging.models import (
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Purpose,
    conversation_patient,
)
from app.patients.lookups import not_merged
from app.patients.models import Patient
from app.practice.models import Practice
from app.security import audit

RECEIVE_ACTION = audit.Action.MESSAGE_RECEIVE


class InboundError(ValueError):
    """The webhook's fields cannot be stored; the message names the field."""


class NoPracticeError(LookupError):
    """The deployment's own sender got a text before any practice exists (retry later)."""


class UnknownRecipient(LookupError):
    """The number or Messaging Service a text was sent to belongs to no practice."""


class Outcome(StrEnum):
    DUPLICATE = "duplicate"  # a retry of a message already stored: nothing was done
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    INTENT = "intent"
    INBOX = "inbox"
    LIKELY_OPT_OUT = "likely_opt_out"  # in the inbox, flagged for staff to confirm


LIKELY_OPT_OUT = Outcome.LIKELY_OPT_OUT.value
_UNREAD = (Outcome.INBOX, Outcome.LIKELY_OPT_OUT)
_KEYWORD_OUTCOMES = {
    Keyword.OPT_OUT: Outcome.OPT_OUT, Keyword.OPT_IN: Outcome.OPT_IN, Keyword.HELP: Outcome.HELP,
}
_REPLY_TEMPLATES = {
    Outcome.OPT_OUT: "opt_out_confirmation",
    Outcome.OPT_IN: "opt_in_confirmation",
    Outcome.HELP: "help_reply",
}


@dataclass(frozen=True)
class InboundResult:
    outcome: Outcome
    message_id: int | None


_FIRST = aliased(Practice)
_FIRST_TWO = select(_FIRST.id).order_by(_FIRST.id).limit(2)
_CANDIDATES = (  # built once, run with its parameters
    select(Practice).where(or_(Practice.id.in_(_FIRST_TWO),
                               Practice.sms_messaging_service_sid == bindparam("service"),
                               Practice.sms_from_number == bindparam("number")))
    .order_by(Practice.id))


def _first_practices() -> list[Practice]:
    return list(db.session.execute(select(Practice).order_by(Practice.id).limit(2)).scalars())


def only_practice() -> Practice | None:
    """The practice of a single-practice install; None when there are none or several."""
    practices = _first_practices()
    return practices[0] if len(practices) == 1 else None


def receiving_practice(*, to: str, messaging_service_sid: str) -> Practice:
    """The practice owning the Messaging Service or number a text was sent to (see the
    module's decisions); ``UnknownRecipient`` naming what matched nothing. One query reads
    both the owners and the first two practices (is this a single-practice install?)."""
    number = sender_address(to.strip()) if to.strip() else ""
    service = messaging_service_sid.strip()
    candidates = list(db.session.execute(_CANDIDATES, {  # NULL (nothing given) matches none
        "service": service or None, "number": number or None}).scalars())
    for practice in candidates:
        if (service and practice.sms_messaging_service_sid == service) or (
                number and practice.sms_from_number == number):
            return practice
    config = current_app.config
    ours = ((service and service == config["TWILIO_MESSAGING_SERVICE_SID"])
            or (number and number == config["TWILIO_FROM_NUMBER"]))
    if ours:
        if not candidates:
            raise NoPracticeError("no practice is set up to receive messages")
        if len(candidates) == 1:  # the first two practices are among them: there is one
            return candidates[0]
        raise UnknownRecipient("the deployment's own sender serves a single practice only: "
                               "give each practice its own number or Messaging Service")
    raise UnknownRecipient("To / MessagingServiceSid: no practice owns this number or "
                           "Messaging Service")


@lru_cache(maxsize=4096)
def sender_address(raw: str) -> str:
    """E.164 for a phone number; a short code or alphanumeric sender as given (parsed once
    per process for each form of a number: the practice's own and its regular senders')."""
    try:
        return phones.to_e164(raw)
    except phones.InvalidPhoneNumber:
        return raw


def check_fields(*, message_sid: str, sender: str) -> None:
    """``InboundError`` naming the first webhook field a text cannot be stored without."""
    if not message_sid:
        raise InboundError("MessageSid: missing")
    if len(message_sid) > 64:
        raise InboundError("MessageSid: longer than 64 characters")
    if not sender.strip():
        raise InboundError("From: missing")


def receive_sms(*, message_sid: str, sender: str, body: str, to: str,
                messaging_service_sid: str = "", media: Sequence[tuple[str, str]] = (),
                received_at: datetime | None = None) -> InboundResult:
    """Store one inbound text (once per ``message_sid``) in the practice owning ``to`` /
    ``messaging_service_sid``, route it, and commit. ``media``: the MMS pictures' (URL,
    content type), fetched later by the worker (``messaging.media``); a picture-only MMS
    goes to the inbox like any text. ``received_at``: when the webhook stored it (the
    inbound queue's routing); the message and its conversation carry that time."""
    check_fields(message_sid=message_sid, sender=sender)
    with across_practices():  # which practice it is for is what this decides
        practice = receiving_practice(to=to, messaging_service_sid=messaging_service_sid)
    with acting_for(practice.id):
        return _receive(practice, message_sid=message_sid, sender=sender, body=body,
                        media=media, at=received_at or utcnow())


def _receive(practice: Practice, *, message_sid: str, sender: str, body: str,
             media: Sequence[tuple[str, str]], at: datetime) -> InboundResult:
    address = sender_address(sender.strip())
    index = conversations.contact_index("sms", address)
    patients, unlinked, opted_out = _senders(practice.id, index)
    conversation = conversations.touch(practice_id=practice.id, address=address,
                                       patient_ids=unlinked, at=at)
    message = insert_returning_unless_exists(Message, {
        "practice_id": practice.id, "conversation_id": conversation.id,
        "patient_id": patients[0].id if len(patients) == 1 else None,
        "direction": Direction.INBOUND, "channel": "sms", "purpose": Purpose.CONVERSATION,
        "body": body, "address": address, "provider_message_id": message_sid,
        "status": MessageStatus.RECEIVED, "attempts": 0, "needs_staff_action": False,
        "is_immediate_reply": False, "capped": False, "created_at": at, "updated_at": utcnow(),
    }, unique_on=["provider_message_id"])
    if message is None:
        db.session.rollback()
        return InboundResult(Outcome.DUPLICATE, None)
    message_id = message.id
    mms.record(practice_id=practice.id, message_id=message.id, media=media)
    outcome = _route(message, practice, patients, conversation, opted_out=opted_out)
    if outcome is not Outcome.INBOX:
        message.status_reason = outcome.value
    message.needs_staff_action = message.needs_staff_action or outcome is Outcome.LIKELY_OPT_OUT
    conversations.settle(conversation, {
        "unread": True, "last_inbound_at": at, "closed": False, "snoozed_until": None,
    } if outcome in _UNREAD else {})
    for patient in patients:
        audit.record(RECEIVE_ACTION, patient_id=patient.id, object_type="message",
                     object_id=message.id, detail={"channel": "sms", "routed": outcome.value})
    db.session.commit()
    return InboundResult(outcome, message_id)


def _senders(practice_id: int, index: str) -> tuple[list[Patient], list[int], bool]:
    """The patients whose mobile number is ``address``, those of them not yet linked to its
    conversation, and whether the number has opted out: one query for a known number."""
    rows = db.session.execute(_SENDERS, {"practice_id": practice_id,
                                         "contact_index": index}).all()
    if not rows:
        return [], [], consent.is_opted_out(practice_id=practice_id, channel="sms",
                                            contact_index=index)
    return ([row[0] for row in rows], [row[0].id for row in rows if not row[1]],
            bool(rows[0][2]))


_LINKED = (select(conversation_patient.c.patient_id)
           .join(Conversation, Conversation.id == conversation_patient.c.conversation_id)
           .where(Conversation.practice_id == bindparam("practice_id"),
                  Conversation.contact_index == bindparam("contact_index"),
                  conversation_patient.c.patient_id == Patient.id).exists())
_SENDERS = (  # built once, run with its parameters
    select(Patient, _LINKED, consent.opted_out_expression(
        practice_id=bindparam("practice_id"), channel="sms",
        contact_index=bindparam("contact_index")))
    .where(Patient.practice_id == bindparam("practice_id"),
           # a number's contact index is its blind index (lookups.mobile_phone_is)
           Patient.mobile_phone_index == bindparam("contact_index"), not_merged())
    .order_by(Patient.id))


def _route(message: Message, practice: Practice, patients: Sequence[Patient],
           conversation: Conversation, *, opted_out: bool) -> Outcome:
    body = message.body or ""
    keyword = classify_inbound(body, opted_out=opted_out)
    if keyword is Keyword.NONE:
        if intents.dispatch(message, patients, normalize_reply(body)):
            return Outcome.INTENT
        return Outcome.LIKELY_OPT_OUT if looks_like_revocation(body) else Outcome.INBOX
    if keyword is not Keyword.HELP:
        consent.record(practice_id=practice.id, channel="sms",
                       contact_index=conversation.contact_index, purpose=consent.ALL,
                       granted=keyword is Keyword.OPT_IN,
                       source=consent.ConsentSource.KEYWORD, patient_id=message.patient_id,
                       message_id=message.id)
    outcome = _KEYWORD_OUTCOMES[keyword]
    _queue_reply(message, practice, outcome)
    return outcome


def _queue_reply(message: Message, practice: Practice, outcome: Outcome) -> None:
    outbox.enqueue(
        practice_id=practice.id, purpose=Purpose.SYSTEM, immediate_reply=True,
        in_reply_to_id=message.id, conversation_id=message.conversation_id, channel="sms",
        address=message.address, patient_id=message.patient_id,
        template=_REPLY_TEMPLATES[outcome],
        context={"practice": {"name": practice.name, "phone": phones.display(practice.phone)}},
        idempotency_key=f"reply:{message.id}:{outcome.value}")
