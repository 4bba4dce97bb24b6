"""Refunds asked of the card provider from our screen (``ProviderRefund``), as the webhook
finds and settles them. A refund is ours when its metadata names our row
(``frontdesk_refund``) or its id is the one the provider gave us."""

from __future__ import annotations

from sqlalchemy import func, select

from app.billing.models import LedgerEntry, ProviderRefund, RefundStatus
from app.core.clock import utcnow
from app.extensions import db


def find(provider: str, refund_id: str, ours_id: str | None) -> ProviderRefund | None:
    if ours_id and ours_id.isdigit() and len(ours_id) < 18:
        row = db.session.get(ProviderRefund, int(ours_id))
        if row is not None and row.provider == provider:
            return row
    return db.session.execute(select(ProviderRefund).where(
        ProviderRefund.provider == provider,
        ProviderRefund.provider_refund_id == refund_id)).scalars().first()


def settled(row: ProviderRefund | None, refund_id: str, entry: LedgerEntry | None) -> None:
    """The provider confirmed the refund (posted now as ``entry``, or before)."""
    if row is None:
        return
    row.provider_refund_id = row.provider_refund_id or refund_id
    if row.status != RefundStatus.SUCCEEDED:
        row.status, row.settled_at, row.failure = RefundStatus.SUCCEEDED, utcnow(), None
    if entry is not None:
        row.entry_id = entry.id


def failed(row: ProviderRefund | None, code: str) -> None:
    if row is not None and row.status == RefundStatus.PENDING:
        row.status, row.settled_at, row.failure = RefundStatus.FAILED, utcnow(), code[:120]


def pending_cents(payment_id: int) -> int:
    """What is asked of the provider for a payment and not yet confirmed or failed."""
    return db.session.execute(select(func.coalesce(func.sum(ProviderRefund.amount_cents), 0))
                              .where(ProviderRefund.payment_entry_id == payment_id,
                                     ProviderRefund.status == RefundStatus.PENDING)).scalar_one()


def for_account(guarantor_id: int, limit: int = 20) -> list[ProviderRefund]:
    return list(db.session.execute(
        select(ProviderRefund).join(LedgerEntry, LedgerEntry.id == ProviderRefund.payment_entry_id)
        .where(LedgerEntry.guarantor_id == guarantor_id)
        .order_by(ProviderRefund.id.desc()).limit(limit)).scalars())
