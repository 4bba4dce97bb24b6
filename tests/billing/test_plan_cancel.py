"""Cancelling a payment plan: billing and managers only, with a reason; unpaid installments
stop (no reminders, no charges), paid ones stay, the patient is told by their billing channel,
and the cancellation is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing import accounts, cards, checkout, plans
from app.billing.models import LedgerEntry, PaymentPlan, PaymentRequest, PlanInstallment
from app.core import clock
from app.extensions import db
from app.messaging.models import Message
from app.security.models import AuditEvent
from tests import factories
from tests.billing.helpers import charge, grant_billing


@pytest.fixture
def plan(app, practice):  # noqa: ANN001, ANN201
    patient = factories.make_patient(practice)
    charge(patient, 9000)
    grant_billing(patient)
    today = accounts.practice_today(practice.id)
    made = plans.create(practice_id=practice.id, patient_id=patient.id, installments=3,
                        first_due=today + timedelta(days=1), staff_id=None)
    plans.send_due_reminders(practice_id=practice.id)
    first = db.session.execute(select(PlanInstallment).where(
        PlanInstallment.plan_id == made.id, PlanInstallment.number == 1)).scalar_one()
    request = db.session.get(PaymentRequest, first.payment_request_id)
    checkout.start(practice_id=practice.id, request_id=request.id, return_url="http://x/p/t")
    checkout.demo_pay(session_id=db.session.get(PaymentRequest, request.id).provider_session_id,
                      card="approve")
    return made


@pytest.mark.parametrize("role", ["front_desk", "marketing"])
def test_only_billing_and_managers_cancel_a_plan(login, plan, role):
    client = login(role)
    assert client.get(f"/billing/plans/{plan.id}/cancel").status_code == 403
    assert client.post(f"/billing/plans/{plan.id}/cancel",
                       data={"reason": "x"}).status_code == 403
    assert db.session.get(PaymentPlan, plan.id).cancelled_at is None


def test_a_cancelled_plan_sends_and_charges_nothing_more_and_the_patient_is_told(
        login, practice, plan):
    billing = login("billing")
    screen = billing.get(f"/billing/plans/{plan.id}/cancel").get_data(as_text=True)
    assert "Installments paid stay paid" in screen and screen.count("Stops") == 2
    refused = billing.post(f"/billing/plans/{plan.id}/cancel", data={"reason": " "},
                           follow_redirects=True).get_data(as_text=True)
    assert "Say why the plan is cancelled." in refused
    assert db.session.get(PaymentPlan, plan.id).cancelled_at is None

    page = billing.post(f"/billing/plans/{plan.id}/cancel",
                        data={"reason": "Patient moving away"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Payment plan cancelled; the patient is told by sms." in page
    cancelled = db.session.get(PaymentPlan, plan.id)
    assert cancelled.cancel_reason == "Patient moving away" and cancelled.cancelled_at
    told = db.session.execute(select(Message).where(
        Message.template == "plan_cancelled")).scalar_one()
    assert (told.patient_id, told.channel, told.purpose) == (plan.patient_id, "sms", "billing")
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.object_type == "payment_plan", AuditEvent.detail.contains("cancelled"))
    ).scalar_one().patient_id == plan.patient_id
    with clock.frozen_at(clock.utcnow() + timedelta(days=70)):
        assert plans.send_due_reminders(practice_id=practice.id) == 0
        assert cards.charge_due(practice_id=practice.id) == 0
    assert [e.amount_cents for e in db.session.execute(select(LedgerEntry).order_by(
        LedgerEntry.id)).scalars()] == [9000, -3000]  # the paid installment stays
    again = billing.post(f"/billing/plans/{plan.id}/cancel", data={"reason": "again"},
                         follow_redirects=True).get_data(as_text=True)
    assert "already cancelled" in again


def test_a_patient_without_billing_consent_is_not_told_and_staff_see_why(login, practice):
    patient = factories.make_patient(practice)
    charge(patient, 4000)
    made = plans.create(practice_id=practice.id, patient_id=patient.id, installments=2,
                        first_due=accounts.practice_today(practice.id), staff_id=None)
    page = login("manager").post(f"/billing/plans/{made.id}/cancel", data={"reason": "error"},
                                 follow_redirects=True).get_data(as_text=True)
    assert "could not be told" in page
    assert db.session.execute(select(Message)).first() is None
