"""Billing test builders: a priced visit, billing consent, Stripe-signed webhook requests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

import stripe

from app.billing import accounts
from app.billing.models import EntryKind, FeeSchedule, PaymentRequest
from app.core import clock
from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.models import Message
from app.patients.models import Patient

WEBHOOK_SECRET = "whsec_test_secret"  # noqa: S105 (the SDK's own test secret)
STRIPE_SETTINGS = {"PAYMENT_PROVIDER": "stripe", "STRIPE_SECRET_KEY": "sk_test_123",
                   "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                   "STRIPE_API_BASE_URL": "https://stripe.test"}
_ids = itertools.count(1)


def price(appointment_type, *, fee_cents: int = 12000, copay_cents: int = 2500) -> None:  # noqa: ANN001
    db.session.add(FeeSchedule(practice_id=appointment_type.practice_id,
                               appointment_type_id=appointment_type.id, fee_cents=fee_cents,
                               copay_cents=copay_cents))
    db.session.commit()


def grant_billing(patient: Patient, channel: str = "sms") -> None:
    address = patient.mobile_phone if channel == "sms" else patient.email
    consent.record(practice_id=patient.practice_id, channel=channel,
                   contact_index=contact_index(channel, address), purpose="billing",
                   granted=True, source=consent.ConsentSource.FORM, patient_id=patient.id)
    db.session.commit()


def charge(patient: Patient, cents: int, description: str = "Visit") -> None:
    accounts.post(patient=patient, kind=EntryKind.CHARGE, amount_cents=cents,
                  description=description)
    db.session.commit()


def stripe_signature(payload: str, *, at: int | None = None,
                     secret: str = WEBHOOK_SECRET) -> str:
    """``Stripe-Signature`` as Stripe builds it: t=<unix>,v1=HMAC-SHA256(secret, "t.body")."""
    at = int(clock.utcnow().timestamp()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    header = f"t={at},v1={mac}"
    # The SDK itself accepts it (its freshness check is ours, against the frozen clock).
    stripe.Webhook.construct_event(payload, header, secret, tolerance=None)
    return header


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> str:
    return json.dumps({"id": event_id or f"evt_{next(_ids):06d}", "object": "event",
                       "type": kind, "api_version": "2024-06-20",
                       "created": int(clock.utcnow().timestamp()),
                       "data": {"object": obj}})


def completed_session(request_id: int, *, session_id: str = "cs_test_1",
                      amount: int = 12000, payment_intent: str = "pi_1") -> dict[str, Any]:
    return {"id": session_id, "object": "checkout.session", "payment_status": "paid",
            "status": "complete", "amount_total": amount, "currency": "usd",
            "payment_intent": payment_intent,
            "metadata": {"payment_request": str(request_id)}}


def post_event(client, payload: str, **signature: Any):  # noqa: ANN001, ANN201
    return client.post("/webhooks/stripe", data=payload,
                       headers={"Stripe-Signature": stripe_signature(payload, **signature),
                                "Content-Type": "application/json"})


def link_path(request: PaymentRequest) -> str:
    """The path of the payment link texted or emailed for ``request``."""
    return json.loads(db.session.get(Message, request.message_id).context)["url"].removeprefix(
        "http://localhost")
