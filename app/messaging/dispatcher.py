"""The dispatcher: sends due outbox messages, exactly once, by the rules in force at send time.

One message goes through these steps, each committed before the next:

1. **claim** — ``scheduled`` → ``sending`` (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so any
   number of workers share the queue; SQLite: an UPDATE conditional on ``scheduled``).
2. **decide** — consent, usable contact point, quiet hours, frequency caps
   (``messaging.policy``). A message that may not go now is deferred (back to ``scheduled``
   with a later ``send_at``) or suppressed with the rule that stopped it; never dropped. One
   that may go is shown to its template's ``send_hooks`` checks, which may cancel it.
3. **prepare** — render the text and fix the recipient; committed *before* the provider call,
   so a crash after it leaves enough behind to find out whether the message went.
4. **send** and record the provider's id (``sent``), or classify the error.

A worker killed between 3 and 4 leaves the row in ``sending``. ``reconcile.reconcile_stale``
asks the provider (by id, or by recipient + body since the claim) before the row may go again,
so a crash loses nothing and sends nothing twice.

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
from app.adapters.sms.base import SmsProvider
from app.core.clock import utcnow
from app.core.metrics import MESSAGES_SENT, SEND_ERRORS
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import conversations, media, policy, send_hooks
from app.messaging.circuit import DELAYED_REASON, Breaker
from app.messaging.models import Message, MessageStatus
from app.messaging.reconcile import reconcile_stale, sms_sender
from app.messaging.rendering import Rendered, TemplateMissing, render
from app.messaging.send_context import NoLongerUseful, extra_context
from app.practice.models import Practice

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


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
        withdrawn = send_hooks.cancel_reason(message, now=now) \
            if decision.allowed and decision.defer_until is None else None
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
    if withdrawn is not None:  # what it was about has changed (an offered time was taken)
        _set(message, status=MessageStatus.CANCELLED, status_reason=withdrawn[:120])
        stats.suppressed += 1
        return
    try:
        rendered = _render(message, decision)
    except NoLongerUseful as stale:
        _set(message, status=MessageStatus.CANCELLED, status_reason=str(stale)[:120])
        stats.suppressed += 1
        return
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
        conversations.refresh_derived([message.conversation_id])
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
    context.update(extra_context(message, decision.language))
    return render(message.template, channel=decision.channel, language=decision.language,
                  context=context)


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
                idempotency_key=f"m{message.id}", sender=sms_sender(message.practice_id))
        else:
            result = providers.email.send_email(
                to=message.address, subject=rendered.subject or "", html=rendered.html or "",
                text=rendered.text, idempotency_key=message.idempotency_key or f"m{message.id}",
                from_email=db.session.get(Practice, message.practice_id).email_from_address,
                attachments=media.attachments(message.id))
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
    if values.get("status") == MessageStatus.CANCELLED and message.conversation_id:
        conversations.refresh_derived([message.conversation_id])
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
