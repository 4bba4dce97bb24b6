"""Posting to a patient's account and reading it back.

Every entry belongs to the patient it is about (``patient_id``) and to the account that pays
(``guarantor_id``: the household's guarantor where one is set, else the patient). Posting is
append-only and audited in the caller's transaction; an entry from a source that posts once
(a visit, a checkout session, a provider's refund) carries a ``source_key`` and a second
post of it is a no-op. Balances and aging are computed from the entries by ``ledger``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.billing import ledger, push
from app.billing.models import AdjustmentReason, EntryKind, HouseholdGuarantor, LedgerEntry
from app.billing.money import dollars
from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.core.errors import FieldErrors
from app.extensions import db
from app.patients.models import Patient
from app.practice.practices import practice_zone
from app.security import audit

CREDIT_KINDS = {EntryKind.INSURANCE_PAYMENT, EntryKind.PATIENT_PAYMENT}


class LedgerInputError(FieldErrors):
    """An adjustment or refund cannot be posted as asked (names the field)."""


class AccountNotFound(LookupError):
    """No such patient (or entry) in this practice."""


@dataclass(frozen=True)
class Account:
    guarantor_id: int
    entries: list[LedgerEntry]
    balance_cents: int
    aging: ledger.Aging
    refundable: dict[int, int]  # payment entry id -> cents still refundable


def practice_today(practice_id: int) -> date:
    return utcnow().astimezone(practice_zone(practice_id)).date()


def get_patient(*, practice_id: int, patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise AccountNotFound(patient_id)
    return patient


def guarantor_id(patient: Patient) -> int:
    """Who pays for ``patient``: the household's guarantor where one is set."""
    if patient.household_id is not None:
        found = db.session.execute(select(HouseholdGuarantor.guarantor_id).where(
            HouseholdGuarantor.household_id == patient.household_id)).scalar_one_or_none()
        if found is not None:
            return found
    return patient.id


def set_guarantor(*, practice_id: int, patient_id: int) -> None:
    """Make ``patient_id`` the guarantor of their household (new entries go to them)."""
    patient = get_patient(practice_id=practice_id, patient_id=patient_id)
    if patient.household_id is None:
        raise LedgerInputError({"patient": _("This patient is not in a household.")})
    row = db.session.execute(select(HouseholdGuarantor).where(
        HouseholdGuarantor.household_id == patient.household_id)).scalar_one_or_none()
    if row is None:
        db.session.add(HouseholdGuarantor(practice_id=practice_id,
                                          household_id=patient.household_id,
                                          guarantor_id=patient.id))
    else:
        row.guarantor_id = patient.id
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=patient.id, object_type="guarantor",
                 object_id=patient.household_id)
    db.session.commit()


def post(*, patient: Patient, kind: EntryKind, amount_cents: int, description: str,
         source_key: str | None = None, **links: object) -> LedgerEntry | None:
    """Append one entry (in the caller's transaction); None when ``source_key`` was posted
    before. ``links``: appointment_id, payment_request_id, refund_of_id, staff_id, reason,
    note, provider_reference."""
    values = {"practice_id": patient.practice_id, "patient_id": patient.id,
              "guarantor_id": guarantor_id(patient), "kind": kind,
              "amount_cents": amount_cents, "posted_at": utcnow(),
              "description": description[:120], "source_key": source_key, **links}
    if source_key is None:
        entry = LedgerEntry(**values)
        db.session.add(entry)
        db.session.flush()
    else:
        values.pop("note", None)  # provider postings carry no staff note
        entry_id = insert_unless_exists(LedgerEntry, values, unique_on=["practice_id",
                                                                        "source_key"])
        if entry_id is None:
            return None
        entry = db.session.get(LedgerEntry, entry_id)
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=patient.id,
                 object_type="ledger_entry", object_id=entry.id,
                 detail={"kind": str(kind), "amount_cents": amount_cents})
    push.enqueue(entry)  # to the practice's billing system, when one is set
    return entry


def post_adjustment(*, practice_id: int, patient_id: int, reason: str, amount_cents: int,
                    increases: bool, note: str, staff_id: int) -> LedgerEntry:
    """A write-off or discount lowers the balance; a correction goes either way."""
    errors: dict[str, str] = {}
    if reason not in set(AdjustmentReason):
        errors["reason"] = _("Choose write-off, discount or correction.")
    elif increases and reason != AdjustmentReason.CORRECTION:
        errors["direction"] = _("Only a correction can raise the balance.")
    if not note.strip():
        errors["note"] = _("Say why (kept in the ledger).")
    if errors:
        raise LedgerInputError(errors)
    patient = get_patient(practice_id=practice_id, patient_id=patient_id)
    entry = post(patient=patient, kind=EntryKind.ADJUSTMENT, reason=reason, staff_id=staff_id,
                 amount_cents=amount_cents if increases else -amount_cents,
                 description=_adjustment_label(reason), note=note.strip()[:500])
    db.session.commit()
    return entry


def _adjustment_label(reason: str) -> str:
    return {AdjustmentReason.WRITE_OFF: "Write-off", AdjustmentReason.DISCOUNT: "Discount",
            AdjustmentReason.CORRECTION: "Correction"}[AdjustmentReason(reason)]


def refunded_cents(payment: LedgerEntry) -> int:
    return db.session.execute(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
                              .where(LedgerEntry.refund_of_id == payment.id)).scalar_one()


def post_refund(*, practice_id: int, payment_id: int, amount_cents: int, note: str = "",
                staff_id: int | None = None, source_key: str | None = None,
                provider_reference: str | None = None) -> LedgerEntry | None:
    """Money given back for one payment; never more than what is left of it. In the caller's
    transaction (the staff screen commits, the webhook commits with its event)."""
    payment = db.session.get(LedgerEntry, payment_id)
    if payment is None or payment.practice_id != practice_id or payment.kind not in CREDIT_KINDS:
        raise LedgerInputError({"payment": _("Choose a payment of this account.")})
    left = ledger.refundable(-payment.amount_cents, [refunded_cents(payment)])
    if amount_cents > left:
        raise LedgerInputError({"amount": _("At most %(left)s can be refunded.",
                                            left=dollars(left))})
    patient = db.session.get(Patient, payment.patient_id)
    return post(patient=patient, kind=EntryKind.REFUND, amount_cents=amount_cents,
                description="Refund", refund_of_id=payment.id, staff_id=staff_id,
                note=note.strip()[:500] or None, source_key=source_key,
                provider_reference=provider_reference)


def account_entries(*, practice_id: int, guarantor: int) -> list[LedgerEntry]:
    return list(db.session.execute(
        select(LedgerEntry).where(LedgerEntry.practice_id == practice_id,
                                  LedgerEntry.guarantor_id == guarantor)
        .order_by(LedgerEntry.posted_at, LedgerEntry.id)).scalars())


def lines(entries: list[LedgerEntry], zone: ZoneInfo) -> list[ledger.Line]:
    return [ledger.Line(e.amount_cents, e.posted_at.astimezone(zone).date()) for e in entries]


def account(*, practice_id: int, patient_id: int, audited: bool = True) -> Account:
    """The account paying for ``patient_id``: entries oldest first, balance, aging."""
    patient = get_patient(practice_id=practice_id, patient_id=patient_id)
    payer = guarantor_id(patient)
    entries = account_entries(practice_id=practice_id, guarantor=payer)
    zone = practice_zone(practice_id)
    refunds: dict[int, list[int]] = {}
    for entry in entries:
        if entry.refund_of_id is not None:
            refunds.setdefault(entry.refund_of_id, []).append(entry.amount_cents)
    refundable = {e.id: ledger.refundable(-e.amount_cents, refunds.get(e.id, []))
                  for e in entries if e.kind in CREDIT_KINDS}
    if audited:
        audit.record(audit.Action.BALANCE_VIEW, patient_id=patient_id, object_type="account",
                     object_id=payer)
    return Account(guarantor_id=payer, entries=entries,
                   balance_cents=ledger.balance(lines(entries, zone)),
                   aging=ledger.aging(lines(entries, zone), today=practice_today(practice_id)),
                   refundable=refundable)


def refund_by_staff(*, practice_id: int, patient_id: int, payment_id: int, amount_cents: int,
                    note: str, staff_id: int) -> LedgerEntry:
    """Record money given back outside the card provider (cash, check) for one payment of
    the patient's account. Refunds made at the provider arrive by its webhook instead."""
    patient = get_patient(practice_id=practice_id, patient_id=patient_id)
    payment = db.session.get(LedgerEntry, payment_id) if payment_id else None
    if payment is None or payment.guarantor_id != guarantor_id(patient):
        raise LedgerInputError({"payment": _("Choose a payment of this account.")})
    if not note.strip():
        raise LedgerInputError({"note": _("Say why (kept in the ledger).")})
    entry = post_refund(practice_id=practice_id, payment_id=payment.id,
                        amount_cents=amount_cents, note=note, staff_id=staff_id)
    db.session.commit()
    return entry
