"""What a payment provider tells us, posted to the ledger exactly once.

Stripe's deliveries repeat and come in any order: each event is recorded by id
(``WebhookEvent``, provider ``stripe``) before it is applied, and every posting carries a
source key (``checkout:<session>``, ``card:<payment intent>`` for a saved card's installment,
``stripe-refund:<refund>``, ``stripe-dispute:<id>``), so
neither a replayed event nor two different events about one session post twice. The payment
request is found by the opaque ids we put in the session's metadata, across practices (the
webhook knows no practice until then), and the rest runs acting for its practice. An event
about a session or payment we do not know is acknowledged and logged, never an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from app.billing import accounts, refund_asks
from app.billing.models import EntryKind, LedgerEntry, PaymentRequest, RequestStatus
from app.billing.money import dollars
from app.billing.reach import billing_reach
from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Purpose, WebhookEvent
from app.patients.models import Patient

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    POSTED = "posted"
    REPEATED = "repeated"  # this event, or another about the same payment, was applied
    UNKNOWN = "unknown"  # names nothing of ours: acknowledged and logged
    IGNORED = "ignored"  # a kind of event we do not act on


@dataclass(frozen=True)
class CheckoutPaid:
    provider: str
    event_id: str
    session_id: str
    amount_cents: int
    request_id: str | None  # from the session's metadata
    payment_reference: str | None = None  # the provider's payment (Stripe PaymentIntent)
    source: str = "checkout"  # "card": a saved card charged off-session (session = payment)


def find_request(request_id: str | None) -> PaymentRequest | None:
    """The payment request an opaque id from a provider's metadata names, in any practice."""
    if not request_id or not request_id.isdigit() or len(request_id) > 18:
        return None
    with across_practices():
        return db.session.get(PaymentRequest, int(request_id))


def _first_time(provider: str, event_id: str, practice_id: int) -> bool:
    return insert_unless_exists(WebhookEvent, {
        "provider": provider, "event_id": event_id[:100], "practice_id": practice_id,
        "received_at": utcnow()}, unique_on=["provider", "event_id"]) is not None


def checkout_paid(paid: CheckoutPaid) -> Outcome:
    """Post the payment of a completed checkout once, mark its request paid, queue a
    receipt. Commits."""
    request = find_request(paid.request_id)
    if request is None or paid.amount_cents <= 0:
        log.warning("%s checkout %s names no payment request of ours; acknowledged",
                    paid.provider, paid.event_id)
        return Outcome.UNKNOWN
    with acting_for(request.practice_id):
        if not _first_time(paid.provider, paid.event_id, request.practice_id):
            return Outcome.REPEATED
        patient = db.session.get(Patient, request.patient_id)
        entry = accounts.post(patient=patient, kind=EntryKind.PATIENT_PAYMENT,
                              amount_cents=-paid.amount_cents, description="Card payment",
                              payment_request_id=request.id,
                              provider_reference=paid.payment_reference or paid.session_id,
                              source_key=f"{paid.source}:{paid.session_id}")
        if entry is None:
            db.session.commit()  # the event is recorded; the payment was posted before
            return Outcome.REPEATED
        request.status, request.paid_at = RequestStatus.PAID, utcnow()
        _queue_receipt(patient, entry)
        db.session.commit()
    return Outcome.POSTED


def _queue_receipt(patient: Patient, entry: LedgerEntry) -> None:
    reach = billing_reach(patient)
    if reach.channel is None:
        log.info("payment %s: no billing channel for a receipt (%s)", entry.id,
                 "consent" if patient.mobile_phone else "no contact")
        return
    outbox.enqueue(practice_id=patient.practice_id, purpose=Purpose.BILLING,
                   patient_id=patient.id, channel=reach.channel, template="payment_receipt",
                   idempotency_key=f"payment-receipt:{entry.id}",
                   context={"amount": dollars(-entry.amount_cents),
                            "paid_on": accounts.practice_today(patient.practice_id).isoformat()})


def _payment_by_reference(reference: str | None) -> LedgerEntry | None:
    if not reference:
        return None
    with across_practices():
        return db.session.execute(select(LedgerEntry).where(
            LedgerEntry.provider_reference == reference,
            LedgerEntry.kind == EntryKind.PATIENT_PAYMENT)).scalars().first()


def refunded(*, provider: str, event_id: str, payment_reference: str | None,
             refunds: list[tuple[str, int]], asked: dict[str, str] | None = None) -> Outcome:
    """Refunds (id, cents) the provider made of one payment: each posted once, with the
    staff member and note of the refund asked from our screen where it was (``asked``:
    refund id -> our ``ProviderRefund`` id from its metadata). Commits."""
    payment = _payment_by_reference(payment_reference)
    if payment is None:
        log.warning("%s refund event %s names no payment of ours; acknowledged", provider,
                    event_id)
        return Outcome.UNKNOWN
    with acting_for(payment.practice_id):
        if not _first_time(provider, event_id, payment.practice_id):
            return Outcome.REPEATED
        posted = False
        for refund_id, cents in refunds:
            ours = refund_asks.find(provider, refund_id, (asked or {}).get(refund_id))
            try:
                entry = accounts.post_refund(
                    practice_id=payment.practice_id, payment_id=payment.id, amount_cents=cents,
                    source_key=f"{provider}-refund:{refund_id}", provider_reference=refund_id,
                    staff_id=ours.staff_id if ours else None,
                    note=(ours.note or "") if ours else "")
                refund_asks.settled(ours, refund_id, entry)
                posted |= entry is not None
            except accounts.LedgerInputError:
                log.warning("%s refund %s is more than is left of payment %s; not posted",
                            provider, refund_id, payment.id)
        db.session.commit()
    return Outcome.POSTED if posted else Outcome.REPEATED


def disputed(*, provider: str, event_id: str, payment_reference: str | None, dispute_id: str,
             amount_cents: int, won: bool) -> Outcome:
    """A chargeback takes a payment back (the balance rises); a dispute won returns it."""
    payment = _payment_by_reference(payment_reference)
    if payment is None:
        log.warning("%s dispute event %s names no payment of ours; acknowledged", provider,
                    event_id)
        return Outcome.UNKNOWN
    with acting_for(payment.practice_id):
        if not _first_time(provider, event_id, payment.practice_id):
            return Outcome.REPEATED
        patient = db.session.get(Patient, payment.patient_id)
        entry = accounts.post(
            patient=patient, kind=EntryKind.DISPUTE,
            amount_cents=-amount_cents if won else amount_cents,
            description="Dispute won" if won else "Card payment disputed",
            provider_reference=dispute_id,
            source_key=f"{provider}-dispute{'-won' if won else ''}:{dispute_id}")
        db.session.commit()
    return Outcome.POSTED if entry is not None else Outcome.REPEATED
