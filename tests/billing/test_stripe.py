"""Stripe: the real SDK opens a Checkout Session (against ``responses``), and the webhook,
signed the way Stripe signs, posts each payment, refund and dispute exactly once."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import func, select

from app.billing import requests
from app.billing.models import LedgerEntry, PaymentRequest
from app.core import clock
from app.extensions import db
from app.messaging.models import Message
from tests import factories
from tests.billing.helpers import (
    STRIPE_SETTINGS,
    WEBHOOK_SECRET,
    charge,
    completed_session,
    event,
    grant_billing,
    post_event,
    stripe_signature,
)

pytestmark = pytest.mark.app_settings(**STRIPE_SETTINGS)


@pytest.fixture
def sent(app, practice):  # noqa: ANN001, ANN201
    patient = factories.make_patient(practice)
    charge(patient, 12000)
    grant_billing(patient)
    return requests.send_link(practice_id=practice.id, patient_id=patient.id, kind="balance",
                              staff_id=None)


def _ledger(kind: str) -> list[int]:
    return list(db.session.execute(select(LedgerEntry.amount_cents).where(
        LedgerEntry.kind == kind).order_by(LedgerEntry.id)).scalars())


def test_pay_opens_a_checkout_session_for_the_amount_with_our_ids(app, client, sent):
    context = json.loads(db.session.get(Message, sent.message_id).context)
    link = context["url"].removeprefix("http://localhost")
    with responses.RequestsMock() as mocked:
        mocked.post("https://stripe.test/v1/checkout/sessions", json={
            "id": "cs_test_a1", "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1"})
        answer = client.post(f"{link}/checkout")
        (call,) = mocked.calls
    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_test_a1"
    assert call.request.headers["Authorization"] == "Bearer sk_test_123"
    form = parse_qs(call.request.body)
    assert form["line_items[0][price_data][unit_amount]"] == ["12000"]
    assert form["line_items[0][price_data][product_data][name]"] == [
        "Payment to Lakeside Family Dental"]
    assert form["metadata[payment_request]"] == [str(sent.id)]
    assert form["metadata[patient]"] == [str(sent.patient_id)]
    assert form["success_url"] == [f"http://localhost{link}/done"]
    assert db.session.get(PaymentRequest, sent.id).provider_session_id == "cs_test_a1"


def test_a_stripe_outage_is_a_friendly_page_not_an_error(app, client, sent):
    link = json.loads(db.session.get(Message, sent.message_id).context)["url"]
    with responses.RequestsMock() as mocked:
        mocked.post("https://stripe.test/v1/checkout/sessions", status=500,
                    json={"error": {"type": "api_error", "message": "boom"}})
        answer = client.post(link.removeprefix("http://localhost") + "/checkout")
    assert answer.status_code == 409
    assert "not available right now" in answer.get_data(as_text=True)


def test_a_completed_session_posts_one_payment_and_queues_a_receipt(app, client, sent):
    payload = event("checkout.session.completed", completed_session(sent.id))
    assert post_event(client, payload).status_code == 200
    assert post_event(client, payload).status_code == 200  # Stripe delivers it again
    # another event about the same session (out of order, a different id)
    assert post_event(client, event("checkout.session.async_payment_succeeded",
                                    completed_session(sent.id))).status_code == 200

    assert _ledger("patient_payment") == [-12000]
    assert db.session.get(PaymentRequest, sent.id).status == "paid"
    assert db.session.execute(select(func.count()).select_from(Message).where(
        Message.template == "payment_receipt")).scalar_one() == 1


def test_unsigned_stale_or_wrongly_signed_events_are_400_and_post_nothing(app, client, sent):
    payload = event("checkout.session.completed", completed_session(sent.id))
    now = int(clock.utcnow().timestamp())
    for headers in ({}, {"Stripe-Signature": "t=1,v1=00"},
                    {"Stripe-Signature": stripe_signature(payload, at=now - 301)},
                    {"Stripe-Signature": stripe_signature(payload, secret="whsec_other")}):
        answer = client.post("/webhooks/stripe", data=payload, headers=headers)
        assert answer.status_code == 400
    assert _ledger("patient_payment") == []


def test_an_event_for_an_unknown_session_is_acknowledged(app, client, sent):
    unknown = completed_session(999_999, session_id="cs_unknown")
    assert post_event(client, event("checkout.session.completed", unknown)).status_code == 200
    garbage = {"id": "cs_x", "payment_status": "paid", "metadata": {"payment_request": "x"}}
    assert post_event(client, event("checkout.session.completed", garbage)).status_code == 200
    assert post_event(client, event("customer.created", {"id": "cus_1"})).status_code == 200
    assert _ledger("patient_payment") == []


def test_refunds_and_disputes_post_their_own_entries_once(app, client, sent):
    post_event(client, event("checkout.session.completed", completed_session(sent.id)))
    refund = {"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
              "refunds": {"data": [{"id": "re_1", "amount": 2000}]}}
    payload = event("charge.refunded", refund)
    post_event(client, payload)
    post_event(client, payload)
    too_much = {**refund, "refunds": {"data": [{"id": "re_1", "amount": 2000},
                                               {"id": "re_2", "amount": 99000}]}}
    assert post_event(client, event("charge.refunded", too_much)).status_code == 200
    assert _ledger("refund") == [2000]

    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "amount": 10000,
               "status": "needs_response"}
    post_event(client, event("charge.dispute.created", dispute))
    post_event(client, event("charge.dispute.closed", {**dispute, "status": "won"}))
    assert _ledger("dispute") == [10000, -10000]


def test_the_webhook_refuses_everything_without_a_secret(make_app):
    app = make_app(**{**STRIPE_SETTINGS, "PAYMENT_PROVIDER": "demo",
                      "STRIPE_WEBHOOK_SECRET": ""})
    with app.app_context():
        payload = event("checkout.session.completed", completed_session(1))
        answer = app.test_client().post("/webhooks/stripe", data=payload, headers={
            "Stripe-Signature": stripe_signature(payload, secret=WEBHOOK_SECRET)})
    assert answer.status_code == 400
    assert re.search("not configured", answer.get_data(as_text=True))


def test_the_shared_stripe_checkout_fixture_posts_through_the_webhook(
        app, client, sent, shared_testdata):
    session = json.loads((shared_testdata / "webhooks/stripe/fixture-checkout.session.json")
                         .read_text())
    session.update(payment_status="paid", amount_total=12000,
                   metadata={"payment_request": str(sent.id)})
    assert post_event(client, event("checkout.session.completed", session)).status_code == 200
    assert _ledger("patient_payment") == [-12000]
