"""Patient statements: what the account shows on one day (itemized charges, payments, aging,
the balance) in the patient's language, as HTML or PDF, and the monthly statement run.

A statement reaches the patient as a link (text or email, by the billing consent rules): the
link's page shows the account and offers the PDF, whose QR code is the same pay link. The
monthly run sends one statement per account owing at least ``STATEMENT_MIN_BALANCE`` dollars,
once a month (the message's idempotency key names the month).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from app.billing import accounts, ledger, requests
from app.billing.models import LedgerEntry, PaymentRequest, RequestKind
from app.core import phones
from app.core.errors import FieldErrors
from app.extensions import db
from app.messaging.models import Message
from app.patients.models import Patient
from app.practice.models import Practice
from app.practice.practices import practice_zone
from app.security import audit

log = logging.getLogger(__name__)
MAX_LINES = 60


@dataclass(frozen=True)
class StatementLine:
    on: date
    kind: str
    description: str
    amount_cents: int


@dataclass(frozen=True)
class Statement:
    practice_name: str
    practice_phone: str
    patient_name: str
    address: list[str]
    language: str
    on: date
    lines: list[StatementLine]
    balance_cents: int
    aging: ledger.Aging
    pay_url: str | None


def build(*, practice_id: int, patient_id: int, pay_url: str | None = None) -> Statement:
    """The statement of the account paying for ``patient_id``, as of today (audited)."""
    account = accounts.account(practice_id=practice_id, patient_id=patient_id)
    payer = db.session.get(Patient, account.guarantor_id)
    practice = db.session.get(Practice, practice_id)
    zone = practice_zone(practice_id)
    lines = [StatementLine(e.posted_at.astimezone(zone).date(), e.kind, e.description,
                           e.amount_cents) for e in account.entries[-MAX_LINES:]]
    address = [part for part in (payer.address_line, " ".join(
        p for p in (payer.city, payer.state, payer.postal_code) if p)) if part]
    db.session.commit()
    return Statement(practice_name=practice.name, practice_phone=phones.display(practice.phone),
                     patient_name=payer.full_name, address=address,
                     language=payer.preferred_language, on=accounts.practice_today(practice_id),
                     lines=lines, balance_cents=account.balance_cents, aging=account.aging,
                     pay_url=pay_url)


def pdf(statement: Statement) -> bytes:
    from app.billing.statement_pdf import render

    with force_locale(statement.language):
        return render(statement)


def send(*, practice_id: int, patient_id: int, staff_id: int | None) -> PaymentRequest:
    """Send the account's statement link (a payment request for the full balance)."""
    return requests.send_link(practice_id=practice_id, patient_id=patient_id,
                              kind=RequestKind.BALANCE, staff_id=staff_id,
                              template="statement")


def monthly_run(*, practice_id: int) -> int:
    """Send this month's statement to each account owing at least the threshold, once.
    Accounts that cannot be reached for billing are logged (by id) and skipped."""
    minimum = current_app.config["STATEMENT_MIN_BALANCE"] * 100
    month = accounts.practice_today(practice_id).strftime("%Y-%m")
    sent = 0
    for guarantor in db.session.execute(select(LedgerEntry.guarantor_id).where(
            LedgerEntry.practice_id == practice_id).distinct()).scalars().all():
        key = f"statement:{guarantor}:{month}"
        if db.session.execute(select(Message.id).where(
                Message.idempotency_key.startswith(key))).first() is not None:
            continue
        account = accounts.account(practice_id=practice_id, patient_id=guarantor,
                                   audited=False)
        if account.balance_cents < minimum:
            continue
        try:
            requests.send_link(practice_id=practice_id, patient_id=guarantor,
                               kind=RequestKind.BALANCE, staff_id=None, template="statement",
                               key_prefix=key)
        except FieldErrors:
            log.info("statement run: account %s cannot be reached for billing", guarantor)
            continue
        audit.record(audit.Action.PAYMENT_LINK_SEND, patient_id=guarantor,
                     object_type="statement", object_id=month)
        db.session.commit()
        sent += 1
    return sent
