"""Refunds from billing's screen. A payment made another way (cash, check, insurance) is
refunded in the ledger only. A card payment made through a payment link is refunded at the
card provider it went through: the ask is recorded first (``ProviderRefund``, pending, with
the staff member and the note), then made with the idempotency key
``frontdesk-refund-<ask id>`` and the ask's id in the refund's metadata; the ledger's refund
entry posts when the provider confirms it (Stripe's ``charge.refunded`` or ``refund.updated``
webhook, once: its source key is the provider's refund id; the demo confirms at once).
Meanwhile the ask shows as pending and its amount cannot be refunded a second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from app.adapters.payments import PaymentProviderError, RefundRequest, get_payment_provider
from app.billing import accounts, ledger, payments, refund_asks
from app.billing.models import (
    EntryKind,
    LedgerEntry,
    PaymentRequest,
    ProviderRefund,
    RefundStatus,
)
from app.billing.money import dollars
from app.core.clock import utcnow
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.security import audit

CARD_PROVIDERS = ("stripe", "demo")


@dataclass(frozen=True)
class RefundOutcome:
    pending: bool  # asked of the card provider: posts when it confirms
    amount_cents: int


def card_provider_of(payment: LedgerEntry) -> str | None:
    """The card provider a payment went through; None for one made another way."""
    if (payment.kind != EntryKind.PATIENT_PAYMENT or payment.payment_request_id is None
            or not payment.provider_reference):
        return None
    request = db.session.get(PaymentRequest, payment.payment_request_id)
    return request.provider if request and request.provider in CARD_PROVIDERS else None


def refund(*, practice_id: int, patient_id: int, payment_id: int, amount_cents: int,
           note: str, staff_id: int) -> RefundOutcome:
    """Refund ``amount_cents`` of one payment of the patient's account (staff's form)."""
    patient = accounts.get_patient(practice_id=practice_id, patient_id=patient_id)
    payment = db.session.get(LedgerEntry, payment_id) if payment_id else None
    if payment is None or payment.guarantor_id != accounts.guarantor_id(patient):
        raise accounts.LedgerInputError({"payment": _("Choose a payment of this account.")})
    provider_name = card_provider_of(payment)
    if provider_name is None:
        accounts.refund_by_staff(practice_id=practice_id, patient_id=patient_id,
                                 payment_id=payment.id, amount_cents=amount_cents, note=note,
                                 staff_id=staff_id)
        return RefundOutcome(pending=False, amount_cents=amount_cents)
    if not note.strip():
        raise accounts.LedgerInputError({"note": _("Say why (kept in the ledger).")})
    left = ledger.refundable(-payment.amount_cents, [accounts.refunded_cents(payment),
                                                     refund_asks.pending_cents(payment.id)])
    if amount_cents > left:
        raise accounts.LedgerInputError({"amount": _("At most %(left)s can be refunded.",
                                                     left=dollars(left))})
    provider = get_payment_provider(current_app.config)
    if provider.name != provider_name:
        raise accounts.LedgerInputError({"payment": _(
            "This payment went through %(provider)s, which is not set up now: refund it "
            "there.", provider=provider_name)})
    ask = ProviderRefund(practice_id=practice_id, patient_id=payment.patient_id,
                         payment_entry_id=payment.id, amount_cents=amount_cents,
                         status=RefundStatus.PENDING, provider=provider.name, staff_id=staff_id,
                         note=note.strip()[:500], created_at=utcnow())
    db.session.add(ask)
    db.session.flush()
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=payment.patient_id,
                 object_type="provider_refund", object_id=ask.id,
                 detail={"amount_cents": amount_cents, "payment": payment.id,
                         "provider": provider.name})
    db.session.commit()  # the ask exists before the call: its webhook always finds it
    return _ask_provider(provider, ask, payment)


def _ask_provider(provider, ask: ProviderRefund, payment: LedgerEntry) -> RefundOutcome:  # noqa: ANN001
    try:
        result = provider.refund(RefundRequest(
            payment_reference=payment.provider_reference, amount_cents=ask.amount_cents,
            idempotency_key=f"frontdesk-refund-{ask.id}",
            metadata={"frontdesk_refund": str(ask.id), "practice": str(ask.practice_id)}))
    except PaymentProviderError as error:
        refund_asks.failed(ask, str(error))
        db.session.commit()
        raise accounts.LedgerInputError({"payment": _(
            "The card provider did not confirm the refund; nothing is posted. If it shows "
            "in the provider's dashboard, it will post here by itself.")}) from None
    ask.provider_refund_id = result.reference
    if result.status in ("failed", "canceled"):
        refund_asks.failed(ask, result.status)
        db.session.commit()
        raise accounts.LedgerInputError({"payment": _("The card provider refused the refund.")})
    db.session.commit()
    if provider.confirms_by_webhook:
        return RefundOutcome(pending=True, amount_cents=ask.amount_cents)
    payments.refunded(provider=provider.name, event_id=f"{provider.name}:{result.reference}",
                      payment_reference=payment.provider_reference,
                      refunds=[(result.reference, ask.amount_cents)],
                      asked={result.reference: str(ask.id)})
    return RefundOutcome(pending=False, amount_cents=ask.amount_cents)


def provider_failed(*, provider: str, refund_id: str, ours_id: str | None,
                    code: str) -> payments.Outcome:
    """The provider says a refund failed or was canceled: the ask reads failed (webhook)."""
    with across_practices():
        ask = refund_asks.find(provider, refund_id, ours_id)
    if ask is None:
        return payments.Outcome.UNKNOWN
    with acting_for(ask.practice_id):
        refund_asks.failed(db.session.get(ProviderRefund, ask.id), code)
        db.session.commit()
    return payments.Outcome.POSTED
