"""Refunds from billing's screen: a Stripe card payment is refunded at Stripe through the
real SDK (against ``responses``) and posts when Stripe's signed webhook confirms it, once;
meanwhile it shows as pending and cannot be refunded twice. A payment made another way is
refunded in the ledger only."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select

from app.billing import accounts, requests
from app.billing.models import EntryKind, LedgerEntry, ProviderRefund
from app.extensions import db
from tests import factories
from tests.billing.helpers import (
    STRIPE_SETTINGS,
    charge,
    completed_session,
    event,
    grant_billing,
    post_event,
)

pytestmark = pytest.mark.app_settings(**STRIPE_SETTINGS)
REFUNDS = "https://stripe.test/v1/refunds"


@pytest.fixture
def paid(app, client, practice):  # noqa: ANN001, ANN201
    patient = factories.make_patient(practice)
    charge(patient, 12000)
    grant_billing(patient)
    sent = requests.send_link(practice_id=practice.id, patient_id=patient.id, kind="balance",
                              staff_id=None)
    post_event(client, event("checkout.session.completed", completed_session(sent.id)))
    payment = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.kind == "patient_payment")).scalar_one()
    return patient, payment


def _refunds() -> list[int]:
    return list(db.session.execute(select(LedgerEntry.amount_cents).where(
        LedgerEntry.kind == "refund").order_by(LedgerEntry.id)).scalars())


def _refund_event(refund_id: str, ask_id: int, *, status: str = "succeeded",
                  amount: int = 2000) -> str:
    return event("refund.updated", {
        "id": refund_id, "object": "refund", "amount": amount, "payment_intent": "pi_1",
        "status": status, "metadata": {"frontdesk_refund": str(ask_id)}})


def test_a_card_refund_is_made_at_stripe_and_posts_when_stripe_confirms(app, client, paid,
                                                                        login):
    patient, payment = paid
    billing = login("billing")
    with responses.RequestsMock() as mocked:
        mocked.post(REFUNDS, json={"id": "re_9", "object": "refund", "status": "pending",
                                   "amount": 2000, "payment_intent": "pi_1"})
        page = billing.post(f"/billing/patients/{patient.id}/refunds", data={
            "payment": str(payment.id), "amount": "20", "note": "double visit charge"},
            follow_redirects=True).get_data(as_text=True)
        # more than what is left once the pending one is counted: refused before Stripe
        refused = billing.post(f"/billing/patients/{patient.id}/refunds", data={
            "payment": str(payment.id), "amount": "100.01", "note": "x"},
            follow_redirects=True).get_data(as_text=True)
        (call,) = mocked.calls
    ask = db.session.execute(select(ProviderRefund)).scalar_one()
    form = parse_qs(call.request.body)
    assert (form["payment_intent"], form["amount"]) == (["pi_1"], ["2000"])
    assert form["metadata[frontdesk_refund]"] == [str(ask.id)]
    assert call.request.headers["Idempotency-Key"] == f"frontdesk-refund-{ask.id}"
    assert "asked of the card provider" in page and "Pending: posts when" in page
    assert "At most $100.00 can be refunded" in refused
    assert _refunds() == []

    confirmed = _refund_event("re_9", ask.id)
    assert post_event(client, confirmed).status_code == 200
    assert post_event(client, confirmed).status_code == 200  # replayed
    assert post_event(client, event("charge.refunded", {  # the charge's event, same refund
        "id": "ch_1", "object": "charge", "payment_intent": "pi_1",
        "refunds": {"data": [{"id": "re_9", "amount": 2000}]}})).status_code == 200
    assert _refunds() == [2000]
    ask = db.session.get(ProviderRefund, ask.id)
    entry = db.session.get(LedgerEntry, ask.entry_id)
    assert (ask.status, entry.staff_id, entry.refund_of_id) == (
        "succeeded", ask.staff_id, payment.id)
    page = billing.get(f"/billing/patients/{patient.id}").get_data(as_text=True)
    assert "Refunded" in page and "$100.00" in page


def test_a_refund_stripe_refuses_or_fails_posts_nothing(app, client, paid, login):
    patient, payment = paid
    billing = login("billing")
    with responses.RequestsMock() as mocked:
        mocked.post(REFUNDS, status=400, json={"error": {
            "type": "invalid_request_error", "code": "charge_already_refunded",
            "message": "Charge has already been refunded."}})
        page = billing.post(f"/billing/patients/{patient.id}/refunds", data={
            "payment": str(payment.id), "amount": "20", "note": "goodwill"},
            follow_redirects=True).get_data(as_text=True)
    assert "did not confirm the refund; nothing is posted" in page
    with responses.RequestsMock() as mocked:
        mocked.post(REFUNDS, json={"id": "re_10", "object": "refund", "status": "pending",
                                   "amount": 3000, "payment_intent": "pi_1"})
        billing.post(f"/billing/patients/{patient.id}/refunds", data={
            "payment": str(payment.id), "amount": "30", "note": "goodwill"})
    later = db.session.execute(select(ProviderRefund).where(
        ProviderRefund.provider_refund_id == "re_10")).scalar_one()
    post_event(client, _refund_event("re_10", later.id, status="failed", amount=3000))
    assert [a.status for a in db.session.execute(
        select(ProviderRefund).order_by(ProviderRefund.id)).scalars()] == ["failed", "failed"]
    assert _refunds() == []
    assert "Failed: nothing refunded" in billing.get(
        f"/billing/patients/{patient.id}").get_data(as_text=True)


def test_a_payment_made_another_way_is_refunded_in_the_ledger_only(app, practice, login):
    patient = factories.make_patient(practice)
    cash = accounts.post(patient=patient, kind=EntryKind.PATIENT_PAYMENT, amount_cents=-5000,
                         description="Cash payment")
    db.session.commit()
    with responses.RequestsMock():  # no call to Stripe
        page = login("manager").post(f"/billing/patients/{patient.id}/refunds", data={
            "payment": str(cash.id), "amount": "50", "note": "paid twice"},
            follow_redirects=True).get_data(as_text=True)
    assert "Refund posted." in page
    assert _refunds() == [5000]
    assert login("front_desk").post(f"/billing/patients/{patient.id}/refunds", data={
        "payment": str(cash.id), "amount": "1", "note": "x"}).status_code == 403
