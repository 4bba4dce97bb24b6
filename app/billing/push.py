"""Pushing posted payments and refunds to the practice's billing system
(``BILLING_ADAPTER``), never losing one.

Posting a patient payment or a refund (``accounts.post``) adds a ``BillingPush`` row in the
same transaction, so a push exists exactly when its entry does. The ``billing-push`` job
sends the due rows oldest first; one the system does not take is tried again after a
back-off (1, 2, 4 ... minutes, at most ``MAX_BACKOFF``), for as long as it takes: a row is
done only when the system took it. The ledger entry's id is the idempotency key, so a push
repeated after a lost answer is recognised by the receiver. With ``BILLING_ADAPTER=none``
nothing is queued.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.adapters.billing import BillingPushError, PostedMoney, get_billing_adapter
from app.billing.models import BillingPush, EntryKind, LedgerEntry
from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.extensions import db

log = logging.getLogger(__name__)
PUSHED_KINDS = {EntryKind.PATIENT_PAYMENT, EntryKind.REFUND}
MAX_BACKOFF = timedelta(hours=6)
BATCH = 200


def enabled() -> bool:
    return current_app.config["BILLING_ADAPTER"] != "none"


def enqueue(entry: LedgerEntry) -> None:
    """Queue ``entry`` for the billing system (in the caller's transaction), once."""
    if entry.kind not in PUSHED_KINDS or not enabled():
        return
    now = utcnow()
    insert_unless_exists(BillingPush, {"practice_id": entry.practice_id, "entry_id": entry.id,
                                       "attempts": 0, "next_attempt_at": now,
                                       "created_at": now}, unique_on=["entry_id"])


def posted_money(entry: LedgerEntry) -> PostedMoney:
    return PostedMoney(
        idempotency_key=str(entry.id), kind=str(entry.kind),
        amount_cents=abs(entry.amount_cents), currency="usd",
        posted_at=entry.posted_at.isoformat(), practice_id=entry.practice_id,
        patient_id=entry.patient_id, account_id=entry.guarantor_id,
        refund_of=str(entry.refund_of_id) if entry.refund_of_id else None,
        provider_reference=entry.provider_reference)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** min(attempts - 1, 16)), MAX_BACKOFF)


def send_due(*, practice_id: int) -> int:
    """Push what is due for the practice (the ``billing-push`` job); how many were taken."""
    if not enabled():
        return 0
    adapter = get_billing_adapter(current_app.config)
    due = db.session.execute(
        select(BillingPush, LedgerEntry).join(LedgerEntry, LedgerEntry.id == BillingPush.entry_id)
        .where(BillingPush.practice_id == practice_id, BillingPush.pushed_at.is_(None),
               BillingPush.next_attempt_at <= utcnow())
        .order_by(BillingPush.next_attempt_at, BillingPush.id).limit(BATCH)).all()
    taken = 0
    for row, entry in due:
        try:
            adapter.push(posted_money(entry))
        except BillingPushError as error:
            row.attempts += 1
            row.last_error = str(error)[:200]
            row.next_attempt_at = utcnow() + backoff(row.attempts)
            log.warning("billing push of entry %s failed (attempt %s): %s", entry.id,
                        row.attempts, row.last_error)
        else:
            row.attempts += 1
            row.pushed_at, row.last_error = utcnow(), None
            taken += 1
        db.session.commit()
    return taken


def waiting(*, practice_id: int) -> int:
    """How many pushes the billing system has not taken yet (shown to billing staff)."""
    return db.session.execute(select(func.count()).select_from(BillingPush).where(
        BillingPush.practice_id == practice_id, BillingPush.pushed_at.is_(None))).scalar_one()
