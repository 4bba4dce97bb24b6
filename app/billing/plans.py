"""Payment plans: a balance split into monthly installments (amounts in cents summing to the
balance, the remainder cents in the first ones). ``REMINDER_DAYS`` before each falls due,
the ``payment-plans`` job sends a payment link for that installment; the installment is paid
when its request is. A cancelled plan sends nothing more.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.billing import accounts, requests
from app.billing.models import PaymentPlan, PaymentRequest, PlanInstallment, RequestKind
from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.security import audit

log = logging.getLogger(__name__)
REMINDER_DAYS = 3
MIN_INSTALLMENTS, MAX_INSTALLMENTS = 2, 24
MAX_START_DAYS = 60


class PlanInputError(FieldErrors):
    """A plan cannot be made as asked; ``errors`` names the field."""


def split(total_cents: int, count: int) -> list[int]:
    """``count`` amounts summing to ``total_cents``, differing by at most a cent."""
    base, extra = divmod(total_cents, count)
    return [base + (1 if n < extra else 0) for n in range(count)]


def monthly(first: date, count: int) -> list[date]:
    """``count`` due days a month apart (the 31st falls on a shorter month's last day)."""
    days = []
    for n in range(count):
        year, month = divmod(first.month - 1 + n, 12)
        year, month = first.year + year, month + 1
        days.append(date(year, month, min(first.day, calendar.monthrange(year, month)[1])))
    return days


def create(*, practice_id: int, patient_id: int, installments: int | None,
           first_due: date | None, staff_id: int) -> PaymentPlan:
    """Split the account's balance into monthly installments from ``first_due``."""
    account = accounts.account(practice_id=practice_id, patient_id=patient_id, audited=False)
    today = accounts.practice_today(practice_id)
    errors = {}
    if account.balance_cents <= 0:
        errors["plan"] = _("There is no balance to pay.")
    if installments is None or not MIN_INSTALLMENTS <= installments <= MAX_INSTALLMENTS:
        errors["installments"] = _("Choose %(low)d to %(high)d installments.",
                                   low=MIN_INSTALLMENTS, high=MAX_INSTALLMENTS)
    if first_due is None or not today <= first_due <= today + timedelta(days=MAX_START_DAYS):
        errors["first_due"] = _("Choose a first due date within the next %(days)d days.",
                                days=MAX_START_DAYS)
    if errors:
        raise PlanInputError(errors)
    plan = PaymentPlan(practice_id=practice_id, patient_id=account.guarantor_id,
                       total_cents=account.balance_cents, staff_id=staff_id, created_at=utcnow())
    db.session.add(plan)
    db.session.flush()
    for number, (due, cents) in enumerate(zip(monthly(first_due, installments), split(
            account.balance_cents, installments), strict=True), start=1):
        db.session.add(PlanInstallment(practice_id=practice_id, plan_id=plan.id, number=number,
                                       due_on=due, amount_cents=cents))
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=plan.patient_id,
                 object_type="payment_plan", object_id=plan.id,
                 detail={"installments": installments, "total_cents": plan.total_cents})
    db.session.commit()
    return plan


@dataclass(frozen=True)
class InstallmentView:
    installment: PlanInstallment
    state: str  # upcoming | sent | opened | paid | expired


def installments(*, practice_id: int, patient_id: int) -> list[InstallmentView]:
    """The active plan's installments of the account paying for ``patient_id``."""
    patient = accounts.get_patient(practice_id=practice_id, patient_id=patient_id)
    now = utcnow()
    rows = db.session.execute(
        select(PlanInstallment, PaymentRequest)
        .join(PaymentPlan, PaymentPlan.id == PlanInstallment.plan_id)
        .outerjoin(PaymentRequest, PaymentRequest.id == PlanInstallment.payment_request_id)
        .where(PaymentPlan.patient_id == accounts.guarantor_id(patient),
               PaymentPlan.cancelled_at.is_(None))
        .order_by(PlanInstallment.plan_id, PlanInstallment.number)).all()
    return [InstallmentView(row, request.state(now) if request else "upcoming")
            for row, request in rows]


def send_due_reminders(*, practice_id: int) -> int:
    """Send the link of each installment due within ``REMINDER_DAYS`` not sent yet."""
    horizon = accounts.practice_today(practice_id) + timedelta(days=REMINDER_DAYS)
    due = db.session.execute(
        select(PlanInstallment, PaymentPlan)
        .join(PaymentPlan, PaymentPlan.id == PlanInstallment.plan_id)
        .where(PlanInstallment.practice_id == practice_id,
               PlanInstallment.payment_request_id.is_(None),
               PaymentPlan.cancelled_at.is_(None), PlanInstallment.due_on <= horizon)
        .order_by(PlanInstallment.due_on, PlanInstallment.id)).all()
    sent = 0
    for installment, plan in due:
        try:
            request = requests.send_link(
                practice_id=practice_id, patient_id=plan.patient_id,
                kind=RequestKind.INSTALLMENT, amount_cents=installment.amount_cents,
                staff_id=None, key_prefix=f"plan-installment:{installment.id}")
        except FieldErrors:
            log.info("installment %s: the account cannot be reached for billing",
                     installment.id)
            continue
        installment.payment_request_id = request.id
        db.session.commit()
        sent += 1
    return sent
