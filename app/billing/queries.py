"""What billing's staff screens show: one patient's account with its payment requests, and
the practice's balances with their aging. Reads are audited (the patient's account view, the
balances list as one event naming how many accounts it showed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.billing import accounts, plans, push, refund_asks, requests
from app.billing import balances as balances_sql
from app.billing.models import (
    PaymentPlan,
    PaymentRequest,
    ProviderRefund,
    RefundStatus,
)
from app.billing.reach import Reach, billing_reach
from app.core.clock import utcnow
from app.extensions import db
from app.patients.models import Patient
from app.practice.practices import practice_zone
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
    plan: PaymentPlan | None = None  # the active plan
    refundable: dict[int, int] = field(default_factory=dict)  # less refunds asked, pending
    provider_refunds: list[ProviderRefund] = field(default_factory=list)
    pushes_waiting: int = 0  # posted payments and refunds the billing system has not taken


def patient_billing(*, practice_id: int, patient_id: int) -> PatientBilling:
    patient = accounts.get_patient(practice_id=practice_id, patient_id=patient_id)
    account = accounts.account(practice_id=practice_id, patient_id=patient_id)
    now = utcnow()
    shown = [RequestView(row, row.state(now), patient) for row in db.session.execute(
        select(PaymentRequest).where(PaymentRequest.guarantor_id == account.guarantor_id)
        .order_by(PaymentRequest.id.desc()).limit(50)).scalars()]
    asked = refund_asks.for_account(account.guarantor_id)
    refundable = {payment_id: max(0, left - sum(a.amount_cents for a in asked if
                                                a.payment_entry_id == payment_id
                                                and a.status == RefundStatus.PENDING))
                  for payment_id, left in account.refundable.items()}
    db.session.commit()
    return PatientBilling(patient=patient, account=account, requests=shown,
                          reach=billing_reach(patient),
                          is_guarantor=account.guarantor_id == patient.id,
                          zone=practice_zone(practice_id),
                          installments=plans.installments(practice_id=practice_id,
                                                          patient_id=patient_id),
                          plan=plans.active_plan(practice_id=practice_id, patient_id=patient_id),
                          refundable=refundable, provider_refunds=asked,
                          pushes_waiting=push.waiting(practice_id=practice_id))


@dataclass(frozen=True)
class PlanView:
    plan: PaymentPlan
    patient: Patient
    installments: list[plans.InstallmentView]
    zone: ZoneInfo


def plan_view(*, practice_id: int, plan_id: int) -> PlanView:
    """A plan as its cancellation screen shows it (audited as a view of the account)."""
    plan = plans.get_plan(practice_id=practice_id, plan_id=plan_id)
    patient = accounts.get_patient(practice_id=practice_id, patient_id=plan.patient_id)
    active = plans.active_plan(practice_id=practice_id, patient_id=patient.id)
    shown = plans.installments(practice_id=practice_id, patient_id=patient.id) if (
        active is not None and active.id == plan.id) else []
    audit.record(audit.Action.BALANCE_VIEW, patient_id=patient.id, object_type="payment_plan",
                 object_id=plan.id)
    db.session.commit()
    return PlanView(plan, patient, shown, practice_zone(practice_id))


def balances(*, practice_id: int, bucket: str | None = None,
             page: int = 1) -> balances_sql.BalancePage:
    """One page of the accounts with a balance (computed in SQL: ``balances``), audited as
    one event naming how many accounts it showed."""
    found = balances_sql.balances_page(practice_id=practice_id, bucket=bucket, page=page)
    audit.record(audit.Action.BALANCE_VIEW, object_type="balances",
                 detail={"accounts": len(found.rows), "bucket": bucket or "all",
                         "page": found.page})
    db.session.commit()
    return found


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
