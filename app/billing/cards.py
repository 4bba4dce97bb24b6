"""Saved cards for payment plans: the patient's agreement, the card saved at checkout, and
the installments charged off-session on their due day.

On an installment's payment page the patient may tick "save my card and charge it for the
remaining installments": the agreement is recorded on the plan with its date and source
(the link), and that checkout saves the card (Stripe: a Customer and
``setup_future_usage=off_session``; the card is recorded when ``payment_intent.succeeded``
names it). The ``plan-card-charges`` job then charges each later installment on its due day
instead of sending a link: a payment request on channel ``card`` records the attempt, the
provider's charge carries the idempotency key ``frontdesk-plan-installment-<id>`` (a retried
run never charges twice), and the payment posts when the provider confirms it (Stripe's
webhook; the demo answers at once). A declined charge, or one the bank wants the patient
present for (authentication required), marks that request failed and sends the patient a
payment link saying so. Staff withdraw the agreement on the patient's word: nothing more is
charged, and links are sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.adapters.payments import (
    ChargeStatus,
    PaymentProviderError,
    SavedCardCharge,
    get_payment_provider,
)
from app.billing import accounts, payments, requests
from app.billing.models import (
    PaymentPlan,
    PaymentRequest,
    PlanInstallment,
    RequestKind,
    RequestStatus,
)
from app.billing.reach import billing_reach
from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.core.tenancy import acting_for
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Purpose
from app.practice.models import Practice
from app.security import audit

log = logging.getLogger(__name__)
CARD_CHANNEL = "card"


@dataclass(frozen=True)
class CardOffer:
    plan_id: int
    remaining: int  # installments after this one, not yet asked for
    remaining_cents: int


def installment_of(request_id: int) -> PlanInstallment | None:
    return db.session.execute(select(PlanInstallment).where(
        PlanInstallment.payment_request_id == request_id)).scalar_one_or_none()


def offer(request: PaymentRequest) -> CardOffer | None:
    """What the pay page may offer: keep the card for the plan's later installments."""
    if request.kind != RequestKind.INSTALLMENT or request.channel == CARD_CHANNEL:
        return None
    installment = installment_of(request.id)
    plan = db.session.get(PaymentPlan, installment.plan_id) if installment else None
    if plan is None or plan.cancelled_at or plan.card_method_ref or plan.card_withdrawn_at:
        return None
    later = db.session.execute(select(PlanInstallment.amount_cents).where(
        PlanInstallment.plan_id == plan.id, PlanInstallment.number > installment.number,
        PlanInstallment.payment_request_id.is_(None))).scalars().all()
    return CardOffer(plan.id, len(later), sum(later)) if later else None


def record_agreement(*, request: PaymentRequest, agreed: bool) -> bool:
    """The patient's answer to the checkbox when pressing Pay; True when the checkout is to
    save the card. Unticked before a card was saved, an earlier agreement lapses."""
    found = offer(request)
    if found is None:
        return False
    plan = db.session.get(PaymentPlan, found.plan_id)
    if agreed:
        plan.card_agreed_at = utcnow()
        plan.card_agreement_source = f"pay-page:{request.id}"  # the link's page, its request
    elif plan.card_agreed_at is None:
        return False
    else:
        plan.card_agreed_at = plan.card_agreement_source = None
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=plan.patient_id,
                 object_type="payment_plan_card", object_id=plan.id,
                 detail={"agreed": agreed, "source": "payment_page", "request": request.id})
    return agreed


def card_saved(*, request_id: str | None, provider: str, customer_ref: str | None,
               method_ref: str | None) -> bool:
    """The checkout of a patient who agreed saved their card: later installments charge it.
    Commits; False when there is nothing to save it for."""
    request = payments.find_request(request_id)
    if request is None or not customer_ref or not method_ref:
        return False
    with acting_for(request.practice_id):
        installment = installment_of(request.id)
        plan = db.session.get(PaymentPlan, installment.plan_id) if installment else None
        if (plan is None or plan.card_agreed_at is None or plan.card_withdrawn_at
                or plan.cancelled_at or plan.card_method_ref):
            return False
        plan.card_provider, plan.card_customer_ref = provider, customer_ref[:255]
        plan.card_method_ref = method_ref[:255]
        audit.record(audit.Action.BALANCE_ADJUST, patient_id=plan.patient_id,
                     object_type="payment_plan_card", object_id=plan.id,
                     detail={"saved": True, "provider": provider})
        db.session.commit()
    return True


def charge_due(*, practice_id: int) -> int:
    """Charge the saved card of each installment due by today (the ``plan-card-charges``
    job), retrying an attempt whose call never got an answer. How many were attempted."""
    today = accounts.practice_today(practice_id)
    due = db.session.execute(
        select(PlanInstallment, PaymentPlan, PaymentRequest)
        .join(PaymentPlan, PaymentPlan.id == PlanInstallment.plan_id)
        .outerjoin(PaymentRequest, PaymentRequest.id == PlanInstallment.payment_request_id)
        .where(PlanInstallment.practice_id == practice_id, PlanInstallment.due_on <= today,
               PaymentPlan.cancelled_at.is_(None), PaymentPlan.card_withdrawn_at.is_(None),
               PaymentPlan.card_agreed_at.is_not(None), PaymentPlan.card_method_ref.is_not(None),
               or_(PlanInstallment.payment_request_id.is_(None),
                   (PaymentRequest.channel == CARD_CHANNEL)
                   & (PaymentRequest.status == RequestStatus.SENT)
                   & PaymentRequest.provider_session_id.is_(None)))
        .order_by(PlanInstallment.due_on, PlanInstallment.id)).all()
    for installment, plan, attempt in due:
        _charge(installment, plan, attempt)
    return len(due)


def _charge(installment: PlanInstallment, plan: PaymentPlan,
            attempt: PaymentRequest | None) -> None:
    provider = get_payment_provider(current_app.config)
    if provider.name != plan.card_provider:
        _fall_back(installment, plan, attempt, "provider_changed")
        return
    if attempt is None:
        now = utcnow()
        attempt = PaymentRequest(
            practice_id=plan.practice_id, patient_id=plan.patient_id,
            guarantor_id=plan.patient_id, kind=RequestKind.INSTALLMENT,
            amount_cents=installment.amount_cents, status=RequestStatus.SENT,
            channel=CARD_CHANNEL, provider=provider.name, created_at=now,
            expires_at=now + requests.LINK_LIFETIME)
        db.session.add(attempt)
        db.session.flush()
        installment.payment_request_id = attempt.id
        db.session.commit()  # the attempt exists before the call: a crash retries it
    practice = db.session.get(Practice, plan.practice_id)
    try:
        result = provider.charge_saved_card(SavedCardCharge(
            amount_cents=installment.amount_cents, currency="usd",
            customer_ref=plan.card_customer_ref, method_ref=plan.card_method_ref,
            description=f"Payment plan installment to {practice.name}"[:120],
            idempotency_key=f"frontdesk-plan-installment-{installment.id}",
            metadata={"payment_request": str(attempt.id), "plan_installment": str(installment.id),
                      "practice": str(plan.practice_id)}))
    except PaymentProviderError as error:
        log.warning("installment %s: card charge not answered (%s); retried next run",
                    installment.id, error)
        return
    attempt.provider_session_id = result.reference
    if result.status in (ChargeStatus.DECLINED, ChargeStatus.AUTHENTICATION_REQUIRED):
        _fall_back(installment, plan, attempt, result.error_code or str(result.status))
        return
    db.session.commit()
    if result.status == ChargeStatus.SUCCEEDED and not provider.confirms_by_webhook:
        payments.checkout_paid(payments.CheckoutPaid(
            provider=provider.name, event_id=f"{provider.name}:{result.reference}",
            session_id=str(result.reference), amount_cents=installment.amount_cents,
            request_id=str(attempt.id), payment_reference=result.reference, source="card"))


def _fall_back(installment: PlanInstallment, plan: PaymentPlan,
               attempt: PaymentRequest | None, code: str) -> None:
    """The card was not charged: the patient gets a link for the installment, told why."""
    if attempt is not None:
        attempt.status = RequestStatus.FAILED
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=plan.patient_id,
                 object_type="plan_installment", object_id=installment.id,
                 detail={"card_charge": "failed", "code": code[:60]})
    db.session.commit()
    try:
        link = requests.send_link(
            practice_id=plan.practice_id, patient_id=plan.patient_id,
            kind=RequestKind.INSTALLMENT, amount_cents=installment.amount_cents, staff_id=None,
            template="plan_card_failed", key_prefix=f"plan-card-failed:{installment.id}")
    except FieldErrors:
        log.info("installment %s: card failed and the account cannot be reached for billing",
                 installment.id)
        return
    installment.payment_request_id = link.id
    db.session.commit()


def charge_failed(*, request_id: str | None, code: str | None) -> bool:
    """The provider says a card charge failed after the call (webhook): fall back once."""
    request = payments.find_request(request_id)
    if request is None or request.channel != CARD_CHANNEL:
        return False
    with acting_for(request.practice_id):
        installment = installment_of(request.id)
        if installment is None or request.status != RequestStatus.SENT:
            return False
        plan = db.session.get(PaymentPlan, installment.plan_id)
        _fall_back(installment, plan, request, code or "payment_failed")
    return True


def withdraw(*, practice_id: int, plan_id: int, staff_id: int) -> PaymentPlan:
    """The patient withdrew the agreement (told to staff): the card is not charged again,
    links are sent before each installment, and the patient gets a confirmation."""
    plan = db.session.get(PaymentPlan, plan_id)
    if plan is None or plan.practice_id != practice_id:
        raise accounts.AccountNotFound(plan_id)
    if plan.card_agreed_at is None or plan.card_withdrawn_at is not None:
        raise accounts.LedgerInputError({"plan": _("No saved-card agreement to withdraw.")})
    plan.card_withdrawn_at, plan.card_withdrawn_by_staff_id = utcnow(), staff_id
    audit.record(audit.Action.BALANCE_ADJUST, patient_id=plan.patient_id,
                 object_type="payment_plan_card", object_id=plan.id,
                 detail={"withdrawn": True, "source": "staff"})
    tell(plan, "plan_card_stopped")
    db.session.commit()
    return plan


def tell(plan: PaymentPlan, template: str) -> str | None:
    """Queue a plan message by the account holder's billing channel; the channel, or None
    when billing consent allows none (logged)."""
    patient = accounts.get_patient(practice_id=plan.practice_id, patient_id=plan.patient_id)
    reach = billing_reach(patient)
    if reach.channel is None:
        log.info("plan %s: %s not sent, no billing channel", plan.id, template)
        return None
    outbox.enqueue(practice_id=plan.practice_id, purpose=Purpose.BILLING, patient_id=patient.id,
                   channel=reach.channel, template=template,
                   idempotency_key=f"{template}:{plan.id}", context={})
    return reach.channel
