"""Billing's tables: the fee schedule, household guarantors, the ledger and payment requests.

Money is integer cents. A ``LedgerEntry`` is never changed or deleted once written: a
correction is a new entry. Balances and aging are derived from the entries (``ledger.py``),
never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db


class EntryKind(StrEnum):
    CHARGE = "charge"
    INSURANCE_PAYMENT = "insurance_payment"
    ADJUSTMENT = "adjustment"
    PATIENT_PAYMENT = "patient_payment"
    REFUND = "refund"
    DISPUTE = "dispute"  # a card payment the bank took back (chargeback)


class AdjustmentReason(StrEnum):
    WRITE_OFF = "write_off"
    DISCOUNT = "discount"
    CORRECTION = "correction"


class RequestKind(StrEnum):
    BALANCE = "balance"
    AMOUNT = "amount"
    COPAY = "copay"
    INSTALLMENT = "installment"  # one installment of a payment plan


class RequestStatus(StrEnum):
    SENT = "sent"
    OPENED = "opened"
    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"  # a saved card's charge was declined or needed the patient


class RefundStatus(StrEnum):
    PENDING = "pending"  # asked of the provider; posts when its webhook confirms
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FeeSchedule(PracticeScoped, db.Model):
    """What a visit of an appointment type costs, and the copay asked at check-in."""

    __table_args__ = (UniqueConstraint("practice_id", "appointment_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_type.id"))
    fee_cents: Mapped[int] = mapped_column(Integer)
    copay_cents: Mapped[int] = mapped_column(Integer, default=0)
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HouseholdGuarantor(PracticeScoped, db.Model):
    """The household member who pays for the household: its members' entries go to the
    guarantor's account."""

    __table_args__ = (UniqueConstraint("practice_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))


class LedgerEntry(PracticeScoped, db.Model):
    """One immutable line of a patient's account. ``amount_cents`` is its effect on the
    balance: positive for charges, refunds and disputes, negative for payments, write-offs and
    discounts; a correction either way. ``source_key`` makes posting from one source (a visit,
    a checkout session, a provider's refund) happen once."""

    __table_args__ = (
        UniqueConstraint("practice_id", "source_key"),
        Index("ix_ledger_entry_account", "practice_id", "guarantor_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    description: Mapped[str] = mapped_column(String(120))  # shown to patients: no clinical detail
    note: Mapped[str | None] = mapped_column(EncryptedText("ledger_entry.note"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_request.id"))
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    provider_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    source_key: Mapped[str | None] = mapped_column(String(200))


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _entries_are_immutable(mapper, connection, target) -> None:  # noqa: ANN001
    raise ValueError("ledger entries are never changed or deleted: post a correction instead")


class PaymentRequest(PracticeScoped, db.Model):
    """A payment link sent to a patient, and what became of it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.SENT)
    channel: Mapped[str] = mapped_column(String(10))
    provider: Mapped[str] = mapped_column(String(20))
    provider_session_id: Mapped[str | None] = mapped_column(String(255), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    resent_as_id: Mapped[int | None] = mapped_column(ForeignKey("payment_request.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def state(self, now: datetime) -> str:
        """The status as of ``now``: an open request past its end reads expired even before
        the expiry job has marked it."""
        if self.status in (RequestStatus.SENT, RequestStatus.OPENED) and now >= self.expires_at:
            return RequestStatus.EXPIRED
        return self.status


class PaymentPlan(PracticeScoped, db.Model):
    """A balance split into installments; a link is sent before each falls due."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    total_cents: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    cancel_reason: Mapped[str | None] = mapped_column(EncryptedText("payment_plan.cancel_reason"))
    # The patient's agreement to have the card of a plan payment saved and charged for the
    # remaining installments: when, where (``card_agreement_source``), and its withdrawal.
    card_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    card_agreement_source: Mapped[str | None] = mapped_column(String(80))
    card_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    card_withdrawn_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    card_provider: Mapped[str | None] = mapped_column(String(20))
    card_customer_ref: Mapped[str | None] = mapped_column(String(255))
    card_method_ref: Mapped[str | None] = mapped_column(String(255))

    @property
    def charges_saved_card(self) -> bool:
        """A saved card is charged for the installments (agreed, saved, not withdrawn)."""
        return bool(self.card_agreed_at and self.card_method_ref and not self.card_withdrawn_at
                    and not self.cancelled_at)


class PlanInstallment(PracticeScoped, db.Model):
    """One installment: due on a day (the practice's), paid through its own payment request
    (sent ``REMINDER_DAYS`` before it is due)."""

    __table_args__ = (UniqueConstraint("plan_id", "number"),
                      Index("ix_plan_installment_due", "practice_id", "due_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plan.id"))
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_request.id"))


class ProviderRefund(PracticeScoped, db.Model):
    """A refund billing staff asked the card provider for. The ledger's refund entry posts
    when the provider's webhook confirms it (``entry_id``); until then it shows as pending."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    payment_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.PENDING)
    provider: Mapped[str] = mapped_column(String(20))
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), index=True)
    failure: Mapped[str | None] = mapped_column(String(120))  # the provider's code, no PHI
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    note: Mapped[str | None] = mapped_column(EncryptedText("provider_refund.note"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))


class BillingPush(PracticeScoped, db.Model):
    """A posted payment or refund waiting to reach the practice's billing system (the
    ``billing-push`` job sends it, retrying with back-off until it is accepted: never
    dropped). One per ledger entry, whose id is the push's idempotency key."""

    __table_args__ = (Index("ix_billing_push_due", "practice_id", "pushed_at",
                            "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
