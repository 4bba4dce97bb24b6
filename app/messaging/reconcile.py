"""Reconciliation: settling outbox messages a dead worker left in ``sending``.

Before such a row may go again, the provider is asked whether it went (by its id, or by
recipient and body since the claim); only a row whose claim token has not moved is settled, so
two reconcilers act on it once. See ``dispatcher`` for the whole exactly-once story.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from app.adapters.sending import SendResult, TransientSendError
from app.adapters.sms.base import SmsSender
from app.core.clock import utcnow
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging.models import Message, MessageStatus
from app.practice.models import Practice

if TYPE_CHECKING:
    from app.messaging.dispatcher import DispatchStats, Providers

log = logging.getLogger(__name__)

STALE_SENDING = timedelta(minutes=2)  # well past any provider timeout
EMAIL_EVENT_WAIT = timedelta(minutes=15)


def sms_sender(practice_id: int) -> SmsSender:
    """The practice's own SMS sender; empty (the deployment's settings) when it has none."""
    practice = db.session.get(Practice, practice_id)
    return SmsSender(messaging_service_sid=practice.sms_messaging_service_sid,
                     from_number=practice.sms_from_number)


def reconcile_stale(providers: Providers, *, stats: DispatchStats, now: datetime) -> None:
    """Settle messages left in ``sending`` by a worker that died (or lost its answer)."""
    with across_practices():  # every practice's; each is then settled acting for its own
        stale = db.session.execute(
            select(Message).where(Message.status == MessageStatus.SENDING,
                                  Message.sending_started_at < now - STALE_SENDING)
            .order_by(Message.id).limit(500)).scalars().all()
    for message in stale:
        message_id, claimed_at = message.id, message.sending_started_at
        try:
            with acting_for(message.practice_id):
                outcome = _ask_provider(message, providers, now=now)
        except TransientSendError as error:  # the provider is down: ask again next pass
            db.session.rollback()
            log.warning("could not reconcile message %s: %s", message_id, error)
            continue
        if outcome is None:
            continue
        if isinstance(outcome, SendResult):
            settled = _settle_stale(message_id, claimed_at, status=MessageStatus.SENT,
                                    provider_message_id=outcome.provider_message_id,
                                    sent_at=now, status_reason=None, error_code=None)
        else:
            settled = _settle_stale(message_id, claimed_at, status=MessageStatus.SCHEDULED,
                                    send_at=now,
                                    status_reason="resent after a worker stopped before sending")
        stats.reconciled += settled


def _settle_stale(message_id: int, claimed_at: datetime | None, **values: Any) -> bool:
    """Apply a reconciliation outcome unless the row moved on while the provider was asked
    (another worker reconciled it, and perhaps resent it, meanwhile)."""
    with across_practices():
        settled = db.session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.SENDING,
                   Message.sending_started_at == claimed_at)
            .values(updated_at=utcnow(), **values)).rowcount
    db.session.commit()
    return bool(settled)


def _ask_provider(message: Message, providers: Providers, *, now: datetime
                  ) -> SendResult | str | None:
    """The provider's record of this message; "not sent" when it certainly did not go;
    None to wait and ask again later."""
    if message.body is None or message.address is None:
        return "not sent"  # died before preparing: nothing could have gone out
    if message.channel == "email":
        if message.sending_started_at and now - message.sending_started_at < EMAIL_EVENT_WAIT:
            return None  # SendGrid has no lookup: give its event webhook time to tell us
        return "not sent"
    if message.provider_message_id:
        return providers.sms.fetch_status(message.provider_message_id)
    # Other texts to the same number (same conversation) already matched to a provider id
    # must not be mistaken for this one when the bodies are identical.
    known = list(db.session.execute(
        select(Message.provider_message_id).where(
            Message.conversation_id == message.conversation_id, Message.id != message.id,
            Message.provider_message_id.is_not(None),
            Message.created_at >= message.sending_started_at - timedelta(days=1))).scalars())
    found = providers.sms.find_sent(
        to=message.address, body=message.body,
        created_after=message.sending_started_at - timedelta(seconds=5), exclude_ids=known,
        sender=sms_sender(message.practice_id))
    return found if found is not None else "not sent"
