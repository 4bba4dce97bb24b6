"""What billing's staff screens show: one patient's account with its payment requests, and
the practice's balances with their aging. Reads are audited (the patient's account view, the
balances list as one event naming how many accounts it showed)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.billing import accounts, ledger, plans, requests
from app.billing.models import LedgerEntry, PaymentRequest
from app.billing.reach import Reach, billing_reach
from app.core.clock import utcnow
from app.extensions import db
from app.patients.models import Patient
from app.security import audit


@dataclass(frozen=True)
class RequestView:
    request: PaymentRequest
    state: str
    patient: Patient


@dataclass(frozen=True)
class PatientBilling:
    patient: Patient
    account: accounts.Account
    requests: list[RequestView]
    reach: Reach
    is_guarantor: bool
    zone: ZoneInfo
    installments: list[plans.InstallmentView]


def patient_billing(*, practice_id: int, patient_id: int) -> PatientBilling:
    patient = accounts.get_patient(practice_id=practice_id, patient_id=patient_id)
    account = accounts.account(practice_id=practice_id, patient_id=patient_id)
    now = utcnow()
    shown = [RequestView(row, row.state(now), patient) for row in db.session.execute(
        select(PaymentRequest).where(PaymentRequest.guarantor_id == account.guarantor_id)
        .order_by(PaymentRequest.id.desc()).limit(50)).scalars()]
    db.session.commit()
    return PatientBilling(patient=patient, account=account, requests=shown,
                          reach=billing_reach(patient),
                          is_guarantor=account.guarantor_id == patient.id,
                          zone=accounts.practice_zone(practice_id),
                          installments=plans.installments(practice_id=practice_id,
                                                          patient_id=patient_id))


@dataclass(frozen=True)
class BalanceRow:
    patient: Patient
    balance_cents: int
    aging: ledger.Aging


def balances(*, practice_id: int, bucket: str | None = None) -> list[BalanceRow]:
    """Every account with a balance, largest first; ``bucket`` keeps the accounts owing in
    that aging bucket (current, 31_60, 61_90, over_90)."""
    zone = accounts.practice_zone(practice_id)
    today = accounts.practice_today(practice_id)
    by_account: dict[int, list[ledger.Line]] = defaultdict(list)
    for entry in db.session.execute(select(LedgerEntry).where(
            LedgerEntry.practice_id == practice_id)).scalars():
        by_account[entry.guarantor_id].append(
            ledger.Line(entry.amount_cents, entry.posted_at.astimezone(zone).date()))
    rows = []
    for guarantor, lines in by_account.items():
        aging = ledger.aging(lines, today=today)
        if aging.total == 0 or (bucket and aging.as_dict().get(bucket, 0) <= 0):
            continue
        rows.append(BalanceRow(db.session.get(Patient, guarantor), aging.total, aging))
    rows.sort(key=lambda row: (-row.balance_cents, row.patient.id))
    audit.record(audit.Action.BALANCE_VIEW, object_type="balances",
                 detail={"accounts": len(rows), "bucket": bucket or "all"})
    db.session.commit()
    return rows


def request_states(*, practice_id: int, status: str | None) -> list[RequestView]:
    """Recent payment requests with their state now (an open one past its end is expired)."""
    now = utcnow()
    rows = db.session.execute(
        select(PaymentRequest, Patient).join(Patient, Patient.id == PaymentRequest.patient_id)
        .where(PaymentRequest.practice_id == practice_id)
        .order_by(PaymentRequest.id.desc()).limit(200)).all()
    shown = [RequestView(row, row.state(now), patient) for row, patient in rows]
    audit.record(audit.Action.BALANCE_VIEW, object_type="payment_requests",
                 detail={"requests": len(shown), "status": status or "all"})
    db.session.commit()
    return [view for view in shown if not status or view.state == status]


def request_view(*, practice_id: int, request_id: int) -> RequestView:
    request = requests.get(practice_id=practice_id, request_id=request_id)
    patient = db.session.get(Patient, request.patient_id)
    audit.record(audit.Action.BALANCE_VIEW, patient_id=patient.id,
                 object_type="payment_request", object_id=request.id)
    db.session.commit()
    return RequestView(request, request.state(utcnow()), patient)
