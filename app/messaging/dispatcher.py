"""The dispatcher: sends due outbox messages, exactly once, by the rules in force at send time.

One message goes through these steps, each committed before the next:

1. **claim** — ``scheduled`` → ``sending`` (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so any
   number of workers share the queue; SQLite: an UPDATE conditional on ``scheduled``).
2. **decide** — consent, usable contact point, quiet hours, frequency caps
   (``messaging.policy``). A message that may not go now is deferred (back to ``scheduled``
   with a later ``send_at``) or suppressed with the rule that stopped it; never dropped.
3. **prepare** — render the text and fix the recipient; committed *before* the provider call,
   so a crash after it leaves enough behind to find out whether the message went.
4. **send** and record the provider's id (``sent``), or classify the error.

A worker killed between 3 and 4 leaves the row in ``sending``. ``reconcile_stale`` asks the
provider (by id, or by recipient + body since the claim) before the row may go again, so a
crash loses nothing and sends nothing twice.

Ownership: ``sending_started_at`` is the claim's token. A worker takes a claimed row up only
while the token is still the one it wrote (an atomic compare-and-set that also restarts the
stale clock), and a reconciler settles a stale row only if its token has not moved since it
read it. So a worker that held its batch past ``STALE_SENDING`` never sends a row someone
else has since reclaimed, and two workers reconciling the same row act on it once.
"""

from __future__ import annotations

import json
import logging
import random
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import escape
from sqlalchemy import case, func, select, update

from app.adapters.email.base import EmailProvider
from app.adapters.sending import (
    FailureKind,
    PermanentSendError,
    ProviderConfigurationError,
    SendResult,
    TransientSendError,
)
from app.adapters.sms.base import SmsProvider, SmsSender
from app.core.clock import utcnow
from app.core.metrics import MESSAGES_SENT, SEND_ERRORS
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import conversations, policy
from app.messaging.circuit import DELAYED_REASON, Breaker
from app.messaging.models import Message, MessageStatus
from app.messaging.rendering import Rendered, TemplateMissing, render
from app.practice.models import Practice

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALE_SENDING = timedelta(minutes=2)  # well past any provider timeout
EMAIL_EVENT_WAIT = timedelta(minutes=15)


@dataclass
class DispatchStats:
    sent: int = 0
    deferred: int = 0
    suppressed: int = 0
    failed: int = 0
    retried: int = 0
    reconciled: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Providers:
    sms: SmsProvider
    email: EmailProvider
    public_base_url: str
    sms_per_second: float = 0.0  # 0: no pacing
    _last_sms_at: float = 0.0
    breakers: dict[str, Breaker] = field(default_factory=dict)

    def breaker(self, provider: str) -> Breaker:
        return self.breakers.setdefault(provider, Breaker(provider))

    def pace_sms(self) -> None:
        """Keep this worker under its per-sender rate, so a campaign does not trip carrier
        filtering (every worker paces itself; N workers send at most N x the rate)."""
        if self.sms_per_second <= 0:
            return
        wait = self._last_sms_at + 1.0 / self.sms_per_second - time_module.monotonic()
        if wait > 0:
            time_module.sleep(wait)
        self._last_sms_at = time_module.monotonic()


def claim_due(*, limit: int, now: datetime) -> list[int]:
    """Move up to ``limit`` due messages to ``sending`` and return their ids (committed)."""
    session = db.session
    due = (select(Message.id)
           .where(Message.status == MessageStatus.SCHEDULED, Message.send_at <= now)
           .order_by(Message.send_at, Message.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        # Lock first, then update exactly the locked rows, in two statements: as a subquery
        # of the UPDATE, a SKIP LOCKED select is run again whenever a row must be rechecked
        # after a concurrent claim, and one worker would claim many times ``limit``.
        due = due.with_for_update(skip_locked=True)
    with across_practices():  # one queue for the deployment; each message then acts for its own
        candidates = list(session.execute(due).scalars())
        ids = list(session.execute(
            update(Message)
            .where(Message.id.in_(candidates), Message.status == MessageStatus.SCHEDULED)
            .values(status=MessageStatus.SENDING, sending_started_at=now,
                    attempts=Message.attempts + 1, updated_at=now)
            .returning(Message.id)).scalars()) if candidates else []
    session.commit()
    return sorted(ids)


def run_once(providers: Providers, *, batch_size: int = 100, now: datetime | None = None,
             max_batches: int | None = None,
             stopping: Callable[[], bool] = lambda: False) -> DispatchStats:
    """Reconcile stale rows, then send everything due now; returns what happened. Once
    ``stopping()`` (SIGTERM), the message in hand is finished and the rest given back."""
    stats = DispatchStats()
    reconcile_stale(providers, stats=stats, now=now or utcnow())
    batches = 0
    while max_batches is None or batches < max_batches:
        claimed_at = now or utcnow()
        ids = claim_due(limit=batch_size, now=claimed_at)
        if not ids:
            break
        batches += 1
        for message_id in ids:
            if stopping():
                _release(ids[ids.index(message_id):], claimed_at=claimed_at)
                return stats
            try:
                process(message_id, providers, stats=stats, now=now, claimed_at=claimed_at)
            except ProviderConfigurationError as error:
                _release(ids[ids.index(message_id) + 1:], claimed_at=claimed_at)
                stats.problems.append(f"provider refused our configuration: {error}")
                log.error("provider configuration refused; stopping: %s", error)
                return stats
    return stats


def process(message_id: int, providers: Providers, *, stats: DispatchStats,
            claimed_at: datetime, now: datetime | None = None) -> None:
    """Decide, prepare and send one message this worker claimed at ``claimed_at``; a row
    that is no longer this claim's (reconciled as stale and reclaimed) is left alone."""
    now = now or utcnow()
    with across_practices():
        still_ours = db.session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.SENDING,
                   Message.sending_started_at == claimed_at)
            .values(sending_started_at=now)).rowcount
        message = db.session.get(Message, message_id) if still_ours else None
    if message is None:
        db.session.rollback()
        return
    with acting_for(message.practice_id):
        _process(message, providers, stats=stats, now=now)


def _process(message: Message, providers: Providers, *, stats: DispatchStats,
             now: datetime) -> None:
    try:
        decision = policy.decide(message, now=now)
    except Exception:  # a defect met by one message must not stop every practice's texts
        log.exception("message %s: deciding whether to send failed", message.id)
        db.session.rollback()
        _set(message, status=MessageStatus.FAILED,
             status_reason="not sent: an internal error (logged) while checking the rules")
        stats.failed += 1
        return
    if decision.defer_until is not None:
        _set(message, status=MessageStatus.SCHEDULED, send_at=decision.defer_until,
             status_reason=decision.reason, attempts=message.attempts - 1)
        stats.deferred += 1
        return
    if not decision.allowed:
        _set(message, status=MessageStatus.SUPPRESSED, status_reason=decision.reason)
        stats.suppressed += 1
        return
    try:
        rendered = _render(message, decision)
    except TemplateMissing as error:
        _set(message, status=MessageStatus.FAILED, status_reason=str(error)[:120])
        stats.failed += 1
        return
    message.channel, message.address = decision.channel, decision.address
    message.body, message.subject = rendered.text, rendered.subject
    if message.channel == "sms":
        message.conversation_id = conversations.get_or_create(
            practice_id=message.practice_id, channel="sms", address=decision.address,
            patient_ids=[message.patient_id] if message.patient_id else []).id
    db.session.commit()  # step 3: what we are about to send is on disk before we send it
    _send(message, rendered, providers, stats=stats, now=now)


def _render(message: Message, decision: policy.Decision) -> Rendered:
    if not message.template:  # written by a staff member
        html = str(escape(message.body or "")).replace("\n", "<br>\n")
        return Rendered(text=message.body or "", subject=message.subject, html=html)
    context = json.loads(message.context or "{}")
    context.setdefault("practice", decision.practice_context)
    if decision.patient_context:
        context.setdefault("patient", decision.patient_context)
    return render(message.template, channel=decision.channel, language=decision.language,
                  context=context)


def _sms_sender(practice_id: int) -> SmsSender:
    """The practice's own SMS sender; empty (the deployment's settings) when it has none."""
    practice = db.session.get(Practice, practice_id)
    return SmsSender(messaging_service_sid=practice.sms_messaging_service_sid,
                     from_number=practice.sms_from_number)


def _send(message: Message, rendered: Rendered, providers: Providers, *,
          stats: DispatchStats, now: datetime) -> None:
    provider = providers.sms if message.channel == "sms" else providers.email
    breaker = providers.breaker(provider.name)
    reopens_at = breaker.closed_at(now)
    if reopens_at is not None:
        _set(message, status=MessageStatus.SCHEDULED, send_at=reopens_at,
             status_reason=DELAYED_REASON.format(provider=provider.name),
             attempts=message.attempts - 1)
        stats.deferred += 1
        return
    try:
        if message.channel == "sms":
            providers.pace_sms()
            result = providers.sms.send_sms(
                to=message.address, body=rendered.text,
                status_callback_url=f"{providers.public_base_url}/webhooks/twilio/status"
                                    f"?m={message.id}",
                idempotency_key=f"m{message.id}", sender=_sms_sender(message.practice_id))
        else:
            result = providers.email.send_email(
                to=message.address, subject=rendered.subject or "", html=rendered.html or "",
                text=rendered.text, idempotency_key=message.idempotency_key or f"m{message.id}",
                from_email=db.session.get(Practice, message.practice_id).email_from_address)
    except PermanentSendError as error:
        breaker.succeeded()  # the provider answered: it is up
        SEND_ERRORS.labels(provider=provider.name, code=_code(error) or error.kind).inc()
        _fail_permanently(message, error)
        stats.failed += 1
    except TransientSendError as error:
        breaker.failed(now)
        SEND_ERRORS.labels(provider=provider.name, code=_code(error) or "transient").inc()
        if error.outcome_unknown:
            # It may have gone: leave it in ``sending`` for reconciliation to decide.
            _set(message, status_reason=f"outcome unknown: {error.message}"[:120])
            stats.retried += 1
        else:
            _retry_later(message, error, now=now)
            stats.retried += 1
    except ProviderConfigurationError:
        _set(message, status=MessageStatus.SCHEDULED, attempts=message.attempts - 1)
        raise
    else:
        breaker.succeeded()
        MESSAGES_SENT.labels(provider=provider.name, channel=message.channel).inc()
        _record_sent(message, result, now=now)
        stats.sent += 1


def _record_sent(message: Message, result: SendResult, *, now: datetime) -> None:
    """Record the provider's id. A status callback may already have moved the message on
    (to delivered, say) between the provider's answer and this commit: never move it back."""
    still_sending = Message.status == MessageStatus.SENDING
    db.session.execute(
        update(Message).where(Message.id == message.id).values(
            provider_message_id=result.provider_message_id,
            sent_at=func.coalesce(Message.sent_at, now),
            status=case((still_sending, MessageStatus.SENT.value), else_=Message.status),
            status_reason=case((still_sending, None), else_=Message.status_reason),
            error_code=case((still_sending, None), else_=Message.error_code),
            updated_at=now))
    db.session.commit()
    db.session.expire(message)


def _retry_later(message: Message, error: TransientSendError, *, now: datetime) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        _set(message, status=MessageStatus.FAILED, error_code=_code(error),
             status_reason=f"gave up after {message.attempts} attempts: {error.message}"[:120])
        return
    backoff = min(2 ** message.attempts * 15, 3600)
    delay = max(error.retry_after or 0, backoff * random.uniform(0.5, 1.5))  # noqa: S311
    _set(message, status=MessageStatus.SCHEDULED, send_at=now + timedelta(seconds=delay),
         error_code=_code(error), status_reason=f"retrying: {error.message}"[:120])


def _fail_permanently(message: Message, error: PermanentSendError) -> None:
    _set(message, status=MessageStatus.FAILED, error_code=_code(error),
         status_reason=error.message[:120])
    if error.kind in (FailureKind.INVALID_NUMBER, FailureKind.INVALID_ADDRESS):
        policy.flag_unusable(practice_id=message.practice_id, channel=message.channel,
                             address=message.address, reason=error.kind, code=_code(error))
    elif error.kind == FailureKind.OPTED_OUT:
        policy.record_carrier_opt_out(message)
    db.session.commit()


def _code(error: Exception) -> str | None:
    code = getattr(error, "code", None)
    return None if code is None else str(code)


def _set(message: Message, **values: Any) -> None:
    for name, value in values.items():
        setattr(message, name, value)
    db.session.commit()


def _release(ids: list[int], *, claimed_at: datetime) -> None:
    """Give this claim's not-yet-processed messages back to the queue."""
    db.session.rollback()
    with across_practices():
        db.session.execute(
            update(Message).where(Message.id.in_(ids), Message.status == MessageStatus.SENDING,
                                  Message.sending_started_at == claimed_at)
            .values(status=MessageStatus.SCHEDULED, attempts=Message.attempts - 1))
    db.session.commit()


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
        sender=_sms_sender(message.practice_id))
    return found if found is not None else "not sent"
