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
