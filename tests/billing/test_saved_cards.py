"""Saved cards for payment plans with Stripe: the patient's explicit agreement on the plan's
payment page saves the card at checkout; the scheduler charges later installments off-session
through the real SDK (against ``responses``), the payment posts only on the signed webhook,
and a declined card or one needing the patient falls back to a link the patient is told of."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select

from app.billing import accounts, cards, plans
from app.billing import requests as billing_requests
from app.billing.models import LedgerEntry, PaymentPlan, PaymentRequest, PlanInstallment
from app.core import clock
from app.extensions import db
from app.messaging.models import Message
from tests import factories
from tests.billing.helpers import (
    STRIPE_SETTINGS,
    charge,
    event,
    grant_billing,
    link_path,
    post_event,
)

pytestmark = pytest.mark.app_settings(**STRIPE_SETTINGS)
INTENTS = "https://stripe.test/v1/payment_intents"


def at_local(practice, day) -> datetime:  # noqa: ANN001
    """Noon of ``day`` in the practice's zone (a due day, whatever the frozen hour)."""
    return datetime.combine(day, time(12), accounts.practice_zone(practice.id))


@pytest.fixture
def plan(app, practice):  # noqa: ANN001, ANN201
    patient = factories.make_patient(practice)
    staff = factories.make_staff(practice, role="billing")
    charge(patient, 9000)
    grant_billing(patient)
    first = accounts.practice_today(practice.id) + timedelta(days=1)
    made = plans.create(practice_id=practice.id, patient_id=patient.id, installments=3,
                        first_due=first, staff_id=staff.id)
    assert plans.send_due_reminders(practice_id=practice.id) == 1
    return made


def _installment(plan: PaymentPlan, number: int) -> PlanInstallment:
    return db.session.execute(select(PlanInstallment).where(
        PlanInstallment.plan_id == plan.id, PlanInstallment.number == number)).scalar_one()


def _checkout(client, plan: PaymentPlan, *, agree: bool):  # noqa: ANN001, ANN202
    request = db.session.get(PaymentRequest, _installment(plan, 1).payment_request_id)
    page = client.get(link_path(request)).get_data(as_text=True)
    assert "Save my card and charge it for my 2 remaining plan installments ($60.00" in page
    with responses.RequestsMock() as mocked:
        mocked.post("https://stripe.test/v1/checkout/sessions", json={
            "id": "cs_plan_1", "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_plan_1"})
        answer = client.post(link_path(request) + "/checkout",
                             data={"save_card": "yes"} if agree else {})
        (call,) = mocked.calls
    assert answer.status_code == 303
    return request, parse_qs(call.request.body)


def _card_saved_event(request: PaymentRequest) -> str:
    return event("payment_intent.succeeded", {
        "id": "pi_first", "object": "payment_intent", "status": "succeeded",
        "amount": 3000, "amount_received": 3000, "setup_future_usage": "off_session",
        "customer": "cus_1", "payment_method": "pm_1",
        "metadata": {"payment_request": str(request.id)}})


def _save_card(client, plan: PaymentPlan) -> PaymentRequest:  # noqa: ANN001
    request, _ = _checkout(client, plan, agree=True)
    assert post_event(client, _card_saved_event(request)).status_code == 200
    return request


def test_only_an_explicit_agreement_saves_the_card(app, client, plan):
    request, form = _checkout(client, plan, agree=False)
    assert "customer_creation" not in form
    assert "payment_intent_data[setup_future_usage]" not in form
    assert db.session.get(PaymentPlan, plan.id).card_agreed_at is None
    post_event(client, _card_saved_event(request))  # a card saved without agreement: ignored
    assert db.session.get(PaymentPlan, plan.id).card_method_ref is None

    request, form = _checkout(client, plan, agree=True)
    assert form["customer_creation"] == ["always"]
    assert form["payment_intent_data[setup_future_usage]"] == ["off_session"]
    saved = db.session.get(PaymentPlan, plan.id)
    assert saved.card_agreed_at is not None and saved.card_method_ref is None
    assert saved.card_agreement_source == f"pay-page:{request.id}"
    post_event(client, _card_saved_event(request))
    saved = db.session.get(PaymentPlan, plan.id)
    assert (saved.card_customer_ref, saved.card_method_ref) == ("cus_1", "pm_1")


def test_a_later_installment_is_charged_off_session_and_posts_on_the_webhook(
        app, client, practice, plan):
    _save_card(client, plan)
    second = _installment(plan, 2)
    with clock.frozen_at(at_local(practice, second.due_on - timedelta(days=3))):
        assert plans.send_due_reminders(practice_id=practice.id) == 0  # no link: the card pays
        assert cards.charge_due(practice_id=practice.id) == 0  # not due yet
    with clock.frozen_at(at_local(practice, second.due_on)), responses.RequestsMock() as mocked:
        mocked.post(INTENTS, json={"id": "pi_2", "object": "payment_intent",
                                   "status": "succeeded", "amount": 3000})
        assert cards.charge_due(practice_id=practice.id) == 1
        assert cards.charge_due(practice_id=practice.id) == 0  # once
        (call,) = mocked.calls
    form = parse_qs(call.request.body)
    assert call.request.headers["Idempotency-Key"] == f"frontdesk-plan-installment-{second.id}"
    assert (form["customer"], form["payment_method"], form["amount"]) == (
        ["cus_1"], ["pm_1"], ["3000"])
    assert form["off_session"] == ["true"] and form["confirm"] == ["true"]
    attempt = db.session.get(PaymentRequest, _installment(plan, 2).payment_request_id)
    assert (attempt.channel, attempt.provider_session_id) == ("card", "pi_2")
    assert form["metadata[payment_request]"] == [str(attempt.id)]
    assert _payments() == []  # nothing posts before Stripe's webhook says so

    succeeded = event("payment_intent.succeeded", {
        "id": "pi_2", "object": "payment_intent", "status": "succeeded", "amount": 3000,
        "amount_received": 3000, "metadata": {"payment_request": str(attempt.id),
                                              "plan_installment": str(second.id)}})
    assert post_event(client, succeeded).status_code == 200
    assert post_event(client, succeeded).status_code == 200  # a replay posts nothing
    assert _payments() == [-3000]
    views = plans.installments(practice_id=practice.id, patient_id=plan.patient_id)
    assert [(v.state, v.by_card) for v in views] == [
        ("opened", False), ("paid", True), ("upcoming", True)]


def _payments() -> list[int]:
    return list(db.session.execute(select(LedgerEntry.amount_cents).where(
        LedgerEntry.kind == "patient_payment")).scalars())


@pytest.mark.parametrize("code", ["authentication_required", "card_declined"])
def test_a_card_not_charged_sends_the_patient_a_link_saying_so(app, client, practice, plan,
                                                               code):
    _save_card(client, plan)
    second = _installment(plan, 2)
    with clock.frozen_at(at_local(practice, second.due_on)), responses.RequestsMock() as mocked:
        mocked.post(INTENTS, status=402, json={"error": {
            "type": "card_error", "code": code, "message": "The card was not charged.",
            "payment_intent": {"id": "pi_3", "object": "payment_intent",
                               "status": "requires_payment_method"}}})
        assert cards.charge_due(practice_id=practice.id) == 1
        assert cards.charge_due(practice_id=practice.id) == 0
        assert len(mocked.calls) == 1
    second = _installment(plan, 2)
    link = db.session.get(PaymentRequest, second.payment_request_id)
    assert (link.channel, link.amount_cents, link.status) == ("sms", 3000, "sent")
    failed = db.session.execute(select(PaymentRequest).where(
        PaymentRequest.channel == "card")).scalar_one()
    assert (failed.status, failed.provider_session_id) == ("failed", "pi_3")
    told = db.session.get(Message, link.message_id)
    assert told.template == "plan_card_failed" and told.purpose == "billing"
    assert _payments() == []


def test_staff_record_the_patients_withdrawal_and_the_card_is_not_charged(
        app, practice, plan, login):
    _save_card(app.test_client(), plan)
    assert login("front_desk").post(f"/billing/plans/{plan.id}/card/withdraw").status_code == 403
    page = login("billing").post(f"/billing/plans/{plan.id}/card/withdraw",
                                 follow_redirects=True).get_data(as_text=True)
    assert "will not be charged again" in page
    assert "withdrew the saved-card agreement on" in page
    second = _installment(plan, 2)
    with clock.frozen_at(at_local(practice, second.due_on)), responses.RequestsMock():
        assert cards.charge_due(practice_id=practice.id) == 0  # no Stripe call at all
        assert plans.send_due_reminders(practice_id=practice.id) == 1  # a link instead
    assert db.session.execute(select(Message).where(
        Message.template == "plan_card_stopped")).scalar_one().patient_id == plan.patient_id


def test_a_charge_stripe_fails_later_falls_back_by_its_webhook_once(app, client, practice,
                                                                   plan):
    _save_card(client, plan)
    second = _installment(plan, 2)
    with clock.frozen_at(at_local(practice, second.due_on)), responses.RequestsMock() as mocked:
        mocked.post(INTENTS, json={"id": "pi_4", "object": "payment_intent",
                                   "status": "processing", "amount": 3000})
        cards.charge_due(practice_id=practice.id)
    attempt = db.session.get(PaymentRequest, _installment(plan, 2).payment_request_id)
    assert (attempt.channel, attempt.status) == ("card", "sent")
    failed = event("payment_intent.payment_failed", {
        "id": "pi_4", "object": "payment_intent", "status": "requires_payment_method",
        "last_payment_error": {"code": "insufficient_funds"},
        "metadata": {"payment_request": str(attempt.id), "plan_installment": str(second.id)}})
    assert post_event(client, failed).status_code == 200
    assert post_event(client, failed).status_code == 200
    assert db.session.get(PaymentRequest, attempt.id).status == "failed"
    assert len(db.session.execute(select(Message).where(
        Message.template == "plan_card_failed")).all()) == 1


def test_a_link_that_is_not_a_plans_asks_nothing_about_saving_cards(app, client, practice):
    patient = factories.make_patient(practice)
    charge(patient, 5000)
    grant_billing(patient)
    sent = billing_requests.send_link(practice_id=practice.id, patient_id=patient.id,
                                      kind="balance", staff_id=None)
    page = client.get(link_path(sent)).get_data(as_text=True)
    assert "Pay $50.00 by card" in page and "Save my card" not in page
