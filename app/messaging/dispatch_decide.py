"""Step 2 of the dispatcher (see ``dispatcher``): the send-time decisions for a claimed batch.

The batch's messages are read in one query, the facts the rules need in a few more
(``send_facts.load``), and each message is decided in id order (``policy.decide``), shown to
its template's ``send_hooks`` checks and rendered. Every outcome that is not a send (deferred,
suppressed, cancelled, failed) is committed with the batch's new conversations in one
transaction; what is to be sent comes back as plain values (``Outgoing``), so nothing is read
again after that commit.

A defect met by one message (an exception from a rule, a hook or a template context) must not
stop every practice's texts: the step is rolled back, that message alone is failed with the
error logged, and the rest of the batch is decided again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from markupsafe import escape
from sqlalchemy import select

from app.adapters.sms.base import SmsSender
from app.core.clock import utcnow
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import conversations, policy, send_facts, send_hooks
from app.messaging.dispatch_record import set_values
from app.messaging.models import Message, MessageStatus
from app.messaging.rendering import Rendered, TemplateMissing, render
from app.messaging.send_context import NoLongerUseful, extra_context

if TYPE_CHECKING:
    from app.messaging.dispatcher import DispatchStats

log = logging.getLogger(__name__)
INTERNAL_ERROR = "not sent: an internal error (logged) while checking the rules"


@dataclass(frozen=True)
class Outgoing:
    """A message decided and rendered, ready to be prepared and sent."""

    id: int
    practice_id: int
    attempts: int
    idempotency_key: str | None
    channel: str
    address: str
    text: str
    subject: str | None
    html: str | None
    conversation_id: int | None
    sender: SmsSender | None
    from_email: str | None


class _Defect(Exception):
    def __init__(self, message_id: int) -> None:
        super().__init__(message_id)
        self.message_id = message_id


def decide_batch(ids: list[int], *, stats: DispatchStats, claimed_at: datetime,
                 now: datetime | None) -> list[Outgoing]:
    """Decide the claimed messages ``ids``; returns those to send, in id order."""
    remaining = list(ids)
    while True:
        counts: dict[str, int] = {}
        try:
            outgoing = _decide_all(remaining, counts, claimed_at=claimed_at,
                                   now=now or utcnow())
        except _Defect as defect:
            db.session.rollback()
            log.exception("message %s: deciding whether to send failed", defect.message_id)
            set_values(defect.message_id, now=now or utcnow(), status=MessageStatus.FAILED,
                       status_reason=INTERNAL_ERROR)
            stats.failed += 1
            remaining.remove(defect.message_id)
            continue
        for name, count in counts.items():
            setattr(stats, name, getattr(stats, name) + count)
        return outgoing


def _decide_all(ids: list[int], counts: dict[str, int], *, claimed_at: datetime,
                now: datetime) -> list[Outgoing]:
    with across_practices():  # the claim spans practices; each message then acts for its own
        messages = list(db.session.execute(
            select(Message).where(Message.id.in_(ids), Message.status == MessageStatus.SENDING,
                                  Message.sending_started_at == claimed_at)
            .order_by(Message.id)).scalars())
    if not messages:
        return []
    facts = send_facts.load(messages, now=now)
    chosen: list[tuple[Message, policy.Decision, Rendered]] = []
    for message in messages:
        with acting_for(message.practice_id):
            try:
                outcome = _decide_one(message, facts, now=now)
            except Exception as error:
                raise _Defect(message.id) from error
        if isinstance(outcome, str):
            counts[outcome] = counts.get(outcome, 0) + 1
        else:
            decision, rendered = outcome
            facts.note_capped_send(message, decision.channel, decision.address, now)
            chosen.append((message, decision, rendered))
    conversation_ids = _conversations(chosen)
    _join_conversations(chosen, conversation_ids)
    outgoing = [_outgoing(message, decision, rendered, facts,
                          conversation_ids.get((message.practice_id, decision.address)))
                for message, decision, rendered in chosen]
    db.session.commit()  # the outcomes that are not sends, the hooks' writes, conversations
    return outgoing


def _decide_one(message: Message, facts: send_facts.SendFacts, *, now: datetime
                ) -> str | tuple[policy.Decision, Rendered]:
    """The stats counter of a message that does not go (its row updated), or what to send."""
    decision = policy.decide(message, now=now, facts=facts)
    if decision.defer_until is not None:
        _set(message, status=MessageStatus.SCHEDULED, send_at=decision.defer_until,
             status_reason=decision.reason, attempts=message.attempts - 1)
        return "deferred"
    if not decision.allowed:
        _set(message, status=MessageStatus.SUPPRESSED, status_reason=decision.reason)
        return "suppressed"
    withdrawn = send_hooks.cancel_reason(message, now=now)
    if withdrawn is not None:  # what it was about has changed (an offered time was taken)
        _set(message, status=MessageStatus.CANCELLED, status_reason=withdrawn[:120])
        return "suppressed"
    try:
        return decision, _render(message, decision)
    except NoLongerUseful as stale:
        _set(message, status=MessageStatus.CANCELLED, status_reason=str(stale)[:120])
        return "suppressed"
    except TemplateMissing as error:
        _set(message, status=MessageStatus.FAILED, status_reason=str(error)[:120])
        return "failed"


def _set(message: Message, **values: object) -> None:
    for name, value in values.items():
        setattr(message, name, value)
    if values.get("status") == MessageStatus.CANCELLED and message.conversation_id:
        conversations.refresh_derived([message.conversation_id])


def _join_conversations(chosen: list[tuple[Message, policy.Decision, Rendered]],
                        conversation_ids: dict[tuple[int, str], int]) -> None:
    """Each text to send joins its conversation now, so the conversations' derived columns
    are refreshed once for the batch when the decisions commit (not once per message)."""
    for message, decision, _ in chosen:
        conversation_id = conversation_ids.get((message.practice_id, decision.address))
        if decision.channel == "sms" and conversation_id is not None:
            message.conversation_id = conversation_id
    conversations.refresh_derived(conversation_ids.values())


def _render(message: Message, decision: policy.Decision) -> Rendered:
    if not message.template:  # written by a staff member
        html = str(escape(message.body or "")).replace("\n", "<br>\n")
        return Rendered(text=message.body or "", subject=message.subject, html=html)
    context = json.loads(message.context or "{}")
    context.setdefault("practice", decision.practice_context)
    if decision.patient_context:
        context.setdefault("patient", decision.patient_context)
    context.update(extra_context(message, decision.language))
    return render(message.template, channel=decision.channel, language=decision.language,
                  context=context)


def _conversations(chosen: list[tuple[Message, policy.Decision, Rendered]]
                   ) -> dict[tuple[int, str], int]:
    """The conversation of every text to send, by (practice, number), created on first use."""
    by_practice: dict[int, list[tuple[str, int | None]]] = {}
    for message, decision, _ in chosen:
        if decision.channel == "sms":
            by_practice.setdefault(message.practice_id, []).append(
                (decision.address, message.patient_id))
    found: dict[tuple[int, str], int] = {}
    for practice_id, contacts in by_practice.items():
        with acting_for(practice_id):
            for address, conversation_id in conversations.get_or_create_many(
                    practice_id=practice_id, channel="sms", contacts=contacts).items():
                found[(practice_id, address)] = conversation_id
    return found


def _outgoing(message: Message, decision: policy.Decision, rendered: Rendered,
              facts: send_facts.SendFacts, conversation_id: int | None) -> Outgoing:
    practice = facts.practices[message.practice_id]
    return Outgoing(
        id=message.id, practice_id=message.practice_id, attempts=message.attempts,
        idempotency_key=message.idempotency_key, channel=decision.channel,
        address=decision.address, text=rendered.text, subject=rendered.subject,
        html=rendered.html,
        conversation_id=conversation_id if decision.channel == "sms" else message.conversation_id,
        sender=SmsSender(messaging_service_sid=practice.sms_messaging_service_sid,
                         from_number=practice.sms_from_number),
        from_email=practice.email_from_address)
