"""Payment requests: a signed link for the full balance, a chosen amount or a visit's copay,
sent through the outbox, and its life — sent, opened, paid, expired (re-sent with one click).

The link (``/p/<token>``, ``LinkPurpose.PAYMENT``) names only the request's id; it expires
with the request. A paid request takes no second payment; an expired one says so and staff
re-send it as a new request (the old one points at it), so nothing silently disappears.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from app.billing import accounts, fees
from app.billing.models import PaymentRequest, PlanInstallment, RequestKind, RequestStatus
from app.billing.money import AmountInvalid, dollars, parse_cents
from app.billing.reach import billing_reach
from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Purpose
from app.scheduling.models import Appointment
from app.security import audit
from app.security.links import LinkPurpose, issue_link_token, public_link_url

LINK_LIFETIME = timedelta(days=7)
OPEN = (RequestStatus.SENT, RequestStatus.OPENED)


class PaymentRequestError(FieldErrors):
    """The link cannot be sent as asked; ``errors`` names the field (``channel`` when the
    patient cannot be reached for billing, with the reason)."""


class RequestNotFound(LookupError):
    """No payment request with that id in this practice."""


def _amount(*, patient_id: int, practice_id: int, kind: str, amount: str | None,
            appointment_id: int | None, amount_cents: int | None) -> int:
    if kind == RequestKind.INSTALLMENT and amount_cents and amount_cents > 0:
        return amount_cents
    if kind == RequestKind.BALANCE:
        cents = accounts.account(practice_id=practice_id, patient_id=patient_id,
                                 audited=False).balance_cents
        if cents <= 0:
            raise PaymentRequestError({"kind": _("There is no balance to pay.")})
        return cents
    if kind == RequestKind.AMOUNT:
        try:
            return parse_cents(amount)
        except AmountInvalid as invalid:
            raise PaymentRequestError({"amount": str(invalid)}) from None
    if kind == RequestKind.COPAY:
        appointment = db.session.get(Appointment, appointment_id) if appointment_id else None
        if appointment is None or appointment.patient_id != patient_id:
            raise PaymentRequestError({"appointment": _("Choose this patient's visit.")})
        fee = fees.fee_for(appointment.appointment_type_id)
        if fee is None or not fee.copay_cents:
            raise PaymentRequestError(
                {"appointment": _("This appointment type has no copay in the fee schedule.")})
        return fee.copay_cents
    raise PaymentRequestError({"kind": _("Choose full balance, an amount or the copay.")})


def send_link(*, practice_id: int, patient_id: int, kind: str, staff_id: int | None,
              amount: str | None = None, appointment_id: int | None = None,
              template: str = "payment_link", key_prefix: str = "payment-link",
              amount_cents: int | None = None) -> PaymentRequest:
    """Record a payment request and queue its link by the patient's billing channel
    (``template`` "statement" for a statement; ``key_prefix`` starts the message's
    idempotency key, the request id ends it; ``amount_cents`` is a plan's installment)."""
    patient = accounts.get_patient(practice_id=practice_id, patient_id=patient_id)
    cents = _amount(patient_id=patient_id, practice_id=practice_id, kind=kind, amount=amount,
                    appointment_id=appointment_id, amount_cents=amount_cents)
    reach = billing_reach(patient)
    if reach.channel is None:
        raise PaymentRequestError({"channel": reach.why_not_text})
    request = PaymentRequest(practice_id=practice_id, patient_id=patient.id,
                             guarantor_id=accounts.guarantor_id(patient), kind=kind,
                             amount_cents=cents, status=RequestStatus.SENT,
                             channel=reach.channel, staff_id=staff_id,
                             provider=current_app.config["PAYMENT_PROVIDER"],
                             appointment_id=appointment_id if kind == RequestKind.COPAY else None,
                             created_at=utcnow(), expires_at=utcnow() + LINK_LIFETIME)
    db.session.add(request)
    db.session.flush()
    _queue(request, template=template, key_prefix=key_prefix)
    db.session.commit()
    return request


def send_copay(*, practice_id: int, appointment_id: int, staff_id: int) -> PaymentRequest:
    """"Collect copay" on an appointment: a link for its type's copay to the patient."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.practice_id != practice_id:
        raise RequestNotFound(appointment_id)
    return send_link(practice_id=practice_id, patient_id=appointment.patient_id,
                     kind=RequestKind.COPAY, appointment_id=appointment.id, staff_id=staff_id)


def _queue(request: PaymentRequest, *, template: str = "payment_link",
           key_prefix: str = "payment-link") -> None:
    token = issue_link_token(LinkPurpose.PAYMENT, request.id, expires_at=request.expires_at)
    message = outbox.enqueue(
        practice_id=request.practice_id, purpose=Purpose.BILLING, patient_id=request.patient_id,
        channel=request.channel, idempotency_key=f"{key_prefix}:{request.id}",
        template=template, staff_id=request.staff_id,
        context={"amount": dollars(request.amount_cents),
                 "url": public_link_url(LinkPurpose.PAYMENT, token)})
    request.message_id = message.id
    audit.record(audit.Action.PAYMENT_LINK_SEND, patient_id=request.patient_id,
                 object_type="payment_request", object_id=request.id,
                 detail={"kind": request.kind, "amount_cents": request.amount_cents,
                         "channel": request.channel})


def get(*, practice_id: int, request_id: int) -> PaymentRequest:
    request = db.session.get(PaymentRequest, request_id)
    if request is None or request.practice_id != practice_id:
        raise RequestNotFound(request_id)
    return request


def expire_due(*, practice_id: int) -> int:
    """Mark requests past their end, unpaid, expired (the scheduler's job). Returns how many."""
    now = utcnow()
    result = db.session.execute(
        update(PaymentRequest)
        .where(PaymentRequest.practice_id == practice_id, PaymentRequest.status.in_(OPEN),
               PaymentRequest.expires_at <= now)
        .values(status=RequestStatus.EXPIRED, expired_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


def resend(*, practice_id: int, request_id: int, staff_id: int) -> PaymentRequest:
    """A fresh request for the same amount in place of an expired one."""
    old = get(practice_id=practice_id, request_id=request_id)
    if old.status != RequestStatus.EXPIRED or old.resent_as_id is not None:
        raise PaymentRequestError({"request": _("Only an expired link can be re-sent, once.")})
    patient = accounts.get_patient(practice_id=practice_id, patient_id=old.patient_id)
    reach = billing_reach(patient)
    if reach.channel is None:
        raise PaymentRequestError({"channel": reach.why_not_text})
    new = PaymentRequest(practice_id=practice_id, patient_id=old.patient_id,
                         guarantor_id=old.guarantor_id, kind=old.kind,
                         amount_cents=old.amount_cents, status=RequestStatus.SENT,
                         channel=reach.channel, staff_id=staff_id, provider=old.provider,
                         appointment_id=old.appointment_id, created_at=utcnow(),
                         expires_at=utcnow() + LINK_LIFETIME)
    db.session.add(new)
    db.session.flush()
    old.resent_as_id = new.id
    db.session.execute(  # a plan's installment is paid by the new link now
        update(PlanInstallment).where(PlanInstallment.payment_request_id == old.id)
        .values(payment_request_id=new.id).execution_options(synchronize_session=False))
    _queue(new)
    db.session.commit()
    return new
