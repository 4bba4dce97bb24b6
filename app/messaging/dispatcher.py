"""The dispatcher: sends due outbox messages, exactly once, by the rules in force at send time.

A worker takes a batch of due messages through these steps:

1. **claim** — ``scheduled`` → ``sending`` for up to ``batch_size`` rows (PostgreSQL: ``FOR
   UPDATE SKIP LOCKED``, so any number of workers share the queue; SQLite: an UPDATE
   conditional on ``scheduled``); committed.
2. **decide**, for the whole batch in one transaction — consent, usable contact point, quiet
   hours, frequency caps (``messaging.policy``, reading the batch's facts in a few queries:
   ``messaging.send_facts``). A message that may not go now is deferred (back to ``scheduled``
   with a later ``send_at``) or suppressed with the rule that stopped it; never dropped. One
   that may go is shown to its template's ``send_hooks`` checks, which may cancel it, and
   rendered; its conversation is found or created (for the batch at once). Every outcome
   that is not a send is committed here, once per batch. A defect met by one message rolls
   the step back, fails that message alone and decides the rest again.
3. **prepare**, one message at a time — what is about to be sent (recipient, text) is written
   *and committed before the provider call*, by an UPDATE that also checks the claim is still
   this worker's; so a crash after it leaves enough behind to find out whether the message
   went.
4. **send**, and record the provider's id (``sent``) in a later message's prepare
   transaction, several at once (``dispatch_record``), or classify the error.

Decisions are made at most ``DECISION_TTL`` before the send: messages of a batch still
unsent by then are given back to the queue and decided again in a later batch.

A worker killed between 3 and the record leaves the row in ``sending``.
``reconcile.reconcile_stale`` asks the provider (by id, or by recipient + body since the claim)
before the row may go again, so a crash loses nothing and sends nothing twice.

Ownership: ``sending_started_at`` is the claim's token. A worker prepares a claimed row only
while the token is still the one it wrote (an atomic compare-and-set that also restarts the
stale clock), and a reconciler settles a stale row only if its token has not moved since it
read it. So a worker that held its batch past ``STALE_SENDING`` never sends a row someone
else has since reclaimed, and two workers reconciling the same row act on it once.
"""

from __future__ import annotations

import logging
import random
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from app.adapters.email.base import EmailProvider
from app.adapters.sending import (
    FailureKind,
    PermanentSendError,
    ProviderConfigurationError,
    TransientSendError,
)
from app.adapters.sms.base import SmsProvider
from app.core.clock import utcnow
from app.core.metrics import MESSAGES_SENT, SEND_ERRORS
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import media, policy
from app.messaging.circuit import DELAYED_REASON, Breaker
from app.messaging.dispatch_decide import Outgoing, decide_batch
from app.messaging.dispatch_record import Recorder, set_values, write_what_is_sent
from app.messaging.models import Message, MessageStatus
from app.messaging.reconcile import reconcile_stale

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DECISION_TTL = 5.0  # seconds: a batch's decisions are not applied to sends later than this


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


class _Ended(Enum):
    DONE = "done"          # every message of the batch was handled
    EXPIRED = "expired"    # decisions grew old: the rest was given back, claim again
    STOPPING = "stopping"  # SIGTERM: the rest was given back
    REFUSED = "refused"    # the provider refused our configuration: the rest was given back


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
        if stopping():
            _release(ids, claimed_at=claimed_at)
            return stats
        outgoing = decide_batch(ids, stats=stats, claimed_at=claimed_at, now=now)
        ended = _send_batch(outgoing, providers, stats=stats, claimed_at=claimed_at, now=now,
                            stopping=stopping)
        if ended in (_Ended.STOPPING, _Ended.REFUSED):
            return stats
    return stats


def _send_batch(outgoing: list[Outgoing], providers: Providers, *, stats: DispatchStats,
                claimed_at: datetime, now: datetime | None,
                stopping: Callable[[], bool]) -> _Ended:
    """Prepare, send and record each decided message in turn."""
    recorder = Recorder()
    try:
        ended = _send_each(outgoing, providers, recorder, stats=stats, claimed_at=claimed_at,
                           now=now, stopping=stopping)
    except BaseException:
        _record_after_failure(recorder)
        raise
    recorder.flush()
    db.session.commit()
    return ended


def _send_each(outgoing: list[Outgoing], providers: Providers, recorder: Recorder, *,
               stats: DispatchStats, claimed_at: datetime, now: datetime | None,
               stopping: Callable[[], bool]) -> _Ended:
    decided = time_module.monotonic()
    for position, item in enumerate(outgoing):
        ended = _Ended.STOPPING if stopping() else _Ended.EXPIRED \
            if time_module.monotonic() - decided > DECISION_TTL else None
        if ended is not None:
            recorder.flush()
            _release([o.id for o in outgoing[position:]], claimed_at=claimed_at)
            return ended
        with acting_for(item.practice_id):
            try:
                _prepare_and_send(item, providers, recorder, stats=stats,
                                  claimed_at=claimed_at, now=now or utcnow())
            except ProviderConfigurationError as error:
                recorder.flush()
                _release([o.id for o in outgoing[position + 1:]], claimed_at=claimed_at)
                stats.problems.append(f"provider refused our configuration: {error}")
                log.error("provider configuration refused; stopping: %s", error)
                return _Ended.REFUSED
    return _Ended.DONE


def _record_after_failure(recorder: Recorder) -> None:
    """Something broke mid-batch: still record what the provider accepted, if the database
    lets us (else those rows stay in ``sending`` and reconciliation finds them)."""
    try:
        db.session.rollback()
        recorder.flush()
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("could not record sent messages after a failure: %s", type(error).__name__)


def _prepare_and_send(item: Outgoing, providers: Providers, recorder: Recorder, *,
                      stats: DispatchStats, claimed_at: datetime, now: datetime) -> None:
    provider = providers.sms if item.channel == "sms" else providers.email
    breaker = providers.breaker(provider.name)
    reopens_at = breaker.closed_at(now)
    if reopens_at is not None:
        set_values(item.id, now=now, status=MessageStatus.SCHEDULED, send_at=reopens_at,
                   status_reason=DELAYED_REASON.format(provider=provider.name),
                   attempts=item.attempts - 1)
        stats.deferred += 1
        return
    recorder.flush_if_due()  # earlier messages' records commit with this one's preparation
    still_ours = write_what_is_sent(
        message_id=item.id, claimed_at=claimed_at, now=now, channel=item.channel,
        address=item.address, body=item.text, subject=item.subject,
        conversation_id=item.conversation_id)
    db.session.commit()  # step 3: what we are about to send is on disk before we send it
    if not still_ours:  # reconciled as stale and reclaimed meanwhile: someone else's now
        return
    _send(item, providers, provider.name, breaker, recorder, stats=stats, now=now)


def _send(item: Outgoing, providers: Providers, provider_name: str, breaker: Breaker,
          recorder: Recorder, *, stats: DispatchStats, now: datetime) -> None:
    try:
        if item.channel == "sms":
            providers.pace_sms()
            result = providers.sms.send_sms(
                to=item.address, body=item.text,
                status_callback_url=f"{providers.public_base_url}/webhooks/twilio/status"
                                    f"?m={item.id}",
                idempotency_key=f"m{item.id}", sender=item.sender)
        else:
            result = providers.email.send_email(
                to=item.address, subject=item.subject or "", html=item.html or "",
                text=item.text, idempotency_key=item.idempotency_key or f"m{item.id}",
                from_email=item.from_email, attachments=media.attachments(item.id))
    except PermanentSendError as error:
        breaker.succeeded()  # the provider answered: it is up
        SEND_ERRORS.labels(provider=provider_name, code=_code(error) or error.kind).inc()
        recorder.flush()
        _fail_permanently(item, error, now=now)
        stats.failed += 1
    except TransientSendError as error:
        breaker.failed(now)
        SEND_ERRORS.labels(provider=provider_name, code=_code(error) or "transient").inc()
        recorder.flush()
        if error.outcome_unknown:
            # It may have gone: leave it in ``sending`` for reconciliation to decide.
            set_values(item.id, now=now,
                       status_reason=f"outcome unknown: {error.message}"[:120])
        else:
            _retry_later(item, error, now=now)
        stats.retried += 1
    except ProviderConfigurationError:
        recorder.flush()
        set_values(item.id, now=now, status=MessageStatus.SCHEDULED,
                   attempts=item.attempts - 1)
        raise
    else:
        breaker.succeeded()
        MESSAGES_SENT.labels(provider=provider_name, channel=item.channel).inc()
        recorder.add(item.id, result.provider_message_id, now)
        stats.sent += 1


def _retry_later(item: Outgoing, error: TransientSendError, *, now: datetime) -> None:
    if item.attempts >= MAX_ATTEMPTS:
        set_values(item.id, now=now, status=MessageStatus.FAILED, error_code=_code(error),
                   status_reason=f"gave up after {item.attempts} attempts: {error.message}"[:120])
        return
    backoff = min(2 ** item.attempts * 15, 3600)
    delay = max(error.retry_after or 0, backoff * random.uniform(0.5, 1.5))  # noqa: S311
    set_values(item.id, now=now, status=MessageStatus.SCHEDULED,
               send_at=now + timedelta(seconds=delay), error_code=_code(error),
               status_reason=f"retrying: {error.message}"[:120])


def _fail_permanently(item: Outgoing, error: PermanentSendError, *, now: datetime) -> None:
    set_values(item.id, now=now, commit=False, status=MessageStatus.FAILED,
               error_code=_code(error), status_reason=error.message[:120])
    if error.kind in (FailureKind.INVALID_NUMBER, FailureKind.INVALID_ADDRESS):
        policy.flag_unusable(practice_id=item.practice_id, channel=item.channel,
                             address=item.address, reason=error.kind, code=_code(error))
    elif error.kind == FailureKind.OPTED_OUT:
        policy.record_carrier_opt_out(db.session.get_one(Message, item.id))
    db.session.commit()


def _code(error: Exception) -> str | None:
    code = getattr(error, "code", None)
    return None if code is None else str(code)


def _release(ids: list[int], *, claimed_at: datetime) -> None:
    """Give this claim's not-yet-sent messages back to the queue."""
    if not ids:
        return
    with across_practices():
        db.session.execute(
            update(Message).where(Message.id.in_(ids), Message.status == MessageStatus.SENDING,
                                  Message.sending_started_at == claimed_at)
            .values(status=MessageStatus.SCHEDULED, attempts=Message.attempts - 1)
            .execution_options(synchronize_session=False))
    db.session.commit()
