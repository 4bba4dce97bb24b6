"""Payment plans: a balance split into monthly installments (amounts in cents summing to the
balance, the remainder cents in the first ones). ``REMINDER_DAYS`` before each falls due,
the ``payment-plans`` job sends a payment link for that installment; the installment is paid
when its request is. Where the patient agreed to keep their card, installments are charged on
their due day instead (``cards``). Billing staff cancel a plan with a reason: nothing more is
sent or charged, what was paid stays paid, and the patient is told by their billing channel.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.billing import accounts, cards, requests
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
    state: str  # upcoming | sent | opened | paid | expired | failed (a card not charged)
    by_card: bool = False  # charged (or to be charged) to the saved card


def active_plan(*, practice_id: int, patient_id: int) -> PaymentPlan | None:
    """The account's plan not cancelled (the newest, should there be several)."""
    patient = accounts.get_patient(practice_id=practice_id, patient_id=patient_id)
    return db.session.execute(select(PaymentPlan).where(
        PaymentPlan.patient_id == accounts.guarantor_id(patient),
        PaymentPlan.cancelled_at.is_(None)).order_by(PaymentPlan.id.desc())).scalars().first()


def installments(*, practice_id: int, patient_id: int) -> list[InstallmentView]:
    """The active plan's installments of the account paying for ``patient_id``."""
    plan = active_plan(practice_id=practice_id, patient_id=patient_id)
    if plan is None:
        return []
    now = utcnow()
    rows = db.session.execute(
        select(PlanInstallment, PaymentRequest)
        .outerjoin(PaymentRequest, PaymentRequest.id == PlanInstallment.payment_request_id)
        .where(PlanInstallment.plan_id == plan.id).order_by(PlanInstallment.number)).all()
    return [InstallmentView(row, request.state(now) if request else "upcoming",
                            by_card=(request.channel == cards.CARD_CHANNEL) if request
                            else plan.charges_saved_card)
            for row, request in rows]


def get_plan(*, practice_id: int, plan_id: int) -> PaymentPlan:
    plan = db.session.get(PaymentPlan, plan_id)
    if plan is None or plan.practice_id != practice_id:
        raise accounts.AccountNotFound(plan_id)
    return plan


def cancel(*, practice_id: int, plan_id: int, reason: str, staff_id: int) -> str | None:
    """Cancel a plan with the reason: no more reminders or card charges; installments paid
    stay paid, and the balance stays what the ledger says. Commits; the channel the patient
    is told by, or None when billing consent allows none."""
    plan = get_plan(practice_id=practice_id, plan_id=plan_id)
    errors = {}
    if plan.cancelled_at is not None:
        errors["plan"] = _("This plan was already cancelled.")
    if not reason.strip():
        errors["reason"] = _("Say why the plan is cancelled.")
    if errors:
        raise PlanInputError(errors)
    plan.cancelled_at, plan.cancelled_by_staff_id = utcnow(), staff_id
    plan.cancel_reason = reason.strip()[:500]
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=plan.patient_id,
                 object_type="payment_plan", object_id=plan.id, detail={"cancelled": True})
    told = cards.tell(plan, "plan_cancelled")
    db.session.commit()
    return told


def send_due_reminders(*, practice_id: int) -> int:
    """Send the link of each installment due within ``REMINDER_DAYS`` not sent yet."""
    horizon = accounts.practice_today(practice_id) + timedelta(days=REMINDER_DAYS)
    due = db.session.execute(
        select(PlanInstallment, PaymentPlan)
        .join(PaymentPlan, PaymentPlan.id == PlanInstallment.plan_id)
        .where(PlanInstallment.practice_id == practice_id,
               PlanInstallment.payment_request_id.is_(None),
               PaymentPlan.cancelled_at.is_(None), PlanInstallment.due_on <= horizon,
               or_(PaymentPlan.card_method_ref.is_(None), PaymentPlan.card_agreed_at.is_(None),
                   PaymentPlan.card_withdrawn_at.is_not(None)))  # else the card is charged
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
