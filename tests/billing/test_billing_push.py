"""The billing-system push: each posted patient payment and refund is queued with its entry
and POSTed, signed (HMAC-SHA256 over the timestamp and body), to the practice's URL; one not
taken is retried with back-off until it is, never dropped."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import requests as http
import responses
from sqlalchemy import select

from app.billing import accounts, push
from app.billing.models import BillingPush, EntryKind
from app.config import ConfigError, load_settings
from app.core import clock
from app.extensions import db
from tests import factories
from tests.billing.helpers import charge

URL = "https://billing.test/frontdesk"
SECRET = "billing-secret-0123456789"  # noqa: S105 (a test key)
pytestmark = pytest.mark.app_settings(BILLING_ADAPTER="webhook", BILLING_WEBHOOK_URL=URL,
                                      BILLING_WEBHOOK_SECRET=SECRET)


def _pay(practice, cents: int = 5000):  # noqa: ANN001, ANN202
    patient = factories.make_patient(practice)
    charge(patient, 12000)  # a charge is not pushed
    payment = accounts.post(patient=patient, kind=EntryKind.PATIENT_PAYMENT,
                            amount_cents=-cents, description="Card payment",
                            provider_reference="pi_7")
    db.session.commit()
    return patient, payment


def test_a_posted_payment_is_pushed_signed_with_its_entry_id_as_key(app, practice):
    patient, payment = _pay(practice)
    with responses.RequestsMock() as mocked:
        mocked.post(URL, status=202)
        assert push.send_due(practice_id=practice.id) == 1
        assert push.send_due(practice_id=practice.id) == 0  # taken: never again
        (call,) = mocked.calls
    body = call.request.body
    timestamp = call.request.headers["Frontdesk-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert call.request.headers["Frontdesk-Signature"] == f"v1={expected}"
    assert abs(int(timestamp) - clock.utcnow().timestamp()) < 5
    assert call.request.headers["Idempotency-Key"] == f"frontdesk-ledger-{payment.id}"
    sent = json.loads(body)
    assert sent == {"idempotency_key": str(payment.id), "kind": "patient_payment",
                    "amount_cents": 5000, "currency": "usd",
                    "posted_at": payment.posted_at.isoformat(), "practice_id": practice.id,
                    "patient_id": patient.id, "account_id": patient.id, "refund_of": None,
                    "provider_reference": "pi_7"}
    assert db.session.execute(select(BillingPush)).scalar_one().pushed_at is not None


def test_a_push_not_taken_is_retried_with_back_off_until_it_is(app, practice):
    _pay(practice)
    with responses.RequestsMock() as mocked:
        mocked.post(URL, status=503)
        assert push.send_due(practice_id=practice.id) == 0
        assert push.send_due(practice_id=practice.id) == 0  # not due again yet
        assert len(mocked.calls) == 1
    row = db.session.execute(select(BillingPush)).scalar_one()
    assert (row.attempts, row.pushed_at, row.last_error) == (1, None, "answered HTTP 503")
    with clock.frozen_at(clock.utcnow() + timedelta(minutes=1, seconds=5)), \
            responses.RequestsMock() as mocked:
        mocked.post(URL, body=http.ConnectionError("refused"))
        assert push.send_due(practice_id=practice.id) == 0
    assert db.session.get(BillingPush, row.id).attempts == 2
    with clock.frozen_at(clock.utcnow() + timedelta(minutes=4)), \
            responses.RequestsMock() as mocked:
        mocked.post(URL, status=200)
        assert push.send_due(practice_id=practice.id) == 1
        assert mocked.calls[0].request.headers["Idempotency-Key"].endswith(f"-{row.entry_id}")
    assert push.waiting(practice_id=practice.id) == 0


def test_a_refund_is_pushed_naming_its_payment(app, practice):
    _, payment = _pay(practice)
    refund = accounts.post_refund(practice_id=practice.id, payment_id=payment.id,
                                  amount_cents=1000, note="x")
    db.session.commit()
    with responses.RequestsMock() as mocked:
        mocked.post(URL, status=200)
        assert push.send_due(practice_id=practice.id) == 2
        sent = [json.loads(call.request.body) for call in mocked.calls]
    assert sent[1]["kind"] == "refund" and sent[1]["refund_of"] == str(payment.id)
    assert sent[1]["idempotency_key"] == str(refund.id) and sent[1]["amount_cents"] == 1000


@pytest.mark.app_settings(BILLING_ADAPTER="none")
def test_without_a_billing_system_nothing_is_queued(app, practice):
    _pay(practice)
    assert db.session.execute(select(BillingPush)).first() is None
    assert push.send_due(practice_id=practice.id) == 0


def test_the_webhook_adapter_needs_its_url_and_a_long_secret():
    with pytest.raises(ConfigError, match="BILLING_WEBHOOK_URL"):
        load_settings({"BILLING_ADAPTER": "webhook", "BILLING_WEBHOOK_SECRET": SECRET},
                      environ={})
    with pytest.raises(ConfigError, match="at least 16") as refused:
        load_settings({"BILLING_ADAPTER": "webhook", "BILLING_WEBHOOK_URL": URL,
                       "BILLING_WEBHOOK_SECRET": "short-secret"}, environ={})
    assert "short-secret" not in str(refused.value)
