"""``POST /webhooks/stripe``: Stripe's signed events.

``@signed_webhook`` runs ``_stripe_refusal`` first: the SDK (``stripe.Webhook.construct_event``)
checks ``Stripe-Signature`` against ``STRIPE_WEBHOOK_SECRET``, and the signed timestamp must
be within ``STRIPE_TOLERANCE_SECONDS`` of our clock (``app.core.clock``, so the check follows
the frozen clock of the tests); anything unverifiable is a 400 that writes nothing. The view
hands plain values to ``billing.payments`` (checkout payments, refunds, disputes, a saved
card's installment charge), ``billing.cards`` (the card a patient agreed to save; a charge
failing later) and ``billing.refunds`` (a refund of ours failing); an event about nothing of
ours is a 200.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from flask import Blueprint, Response, current_app, g, request

from app.billing import cards, payments, refunds
from app.core.clock import utcnow
from app.security.permissions import signed_webhook

log = logging.getLogger(__name__)
bp = Blueprint("billing_webhooks", __name__, url_prefix="/webhooks")

STRIPE_TOLERANCE_SECONDS = 300


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _signed_at(header: str) -> int | None:
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return None


def _stripe_refusal() -> Response | None:
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret:
        log.warning("refused %s: STRIPE_WEBHOOK_SECRET is not set", request.path)
        return _plain("webhook not configured", 400)
    header = request.headers.get("Stripe-Signature", "")
    try:
        # The SDK checks the signature; freshness is checked below against our clock.
        event = stripe.Webhook.construct_event(request.get_data(), header, secret,
                                               tolerance=None)
    except (ValueError, stripe.SignatureVerificationError):
        log.warning("refused %s: missing or invalid Stripe-Signature", request.path)
        return _plain("invalid signature", 400)
    signed_at = _signed_at(header)
    if signed_at is None or abs(utcnow().timestamp() - signed_at) > STRIPE_TOLERANCE_SECONDS:
        log.warning("refused %s: Stripe-Signature timestamp outside the tolerance", request.path)
        return _plain("stale signature", 400)
    g.stripe_event = event.to_dict()  # plain dicts and lists from here on
    return None


@bp.post("/stripe")
@signed_webhook(_stripe_refusal)
def stripe_events() -> Response:
    event = g.stripe_event
    outcome = _apply(event["type"], event["id"], event["data"]["object"])
    log.info("stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return _plain(str(outcome), 200)


def _apply(kind: str, event_id: str, obj: Any) -> payments.Outcome:
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") != "paid":
            return payments.Outcome.IGNORED  # async methods: paid later, by the second event
        return payments.checkout_paid(payments.CheckoutPaid(
            provider="stripe", event_id=event_id, session_id=str(obj.get("id") or ""),
            amount_cents=int(obj.get("amount_total") or 0),
            request_id=(obj.get("metadata") or {}).get("payment_request"),
            payment_reference=_id_of(obj.get("payment_intent"))))
    if kind == "charge.refunded":
        listed = (obj.get("refunds") or {}).get("data", [])  # absent in newer API versions:
        refunds = [(r["id"], int(r["amount"])) for r in listed]  # refund.updated posts then
        return payments.refunded(provider="stripe", event_id=event_id, refunds=refunds,
                                 payment_reference=_id_of(obj.get("payment_intent")),
                                 asked={r["id"]: _ours(r) for r in listed})
    if kind in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"):
        return _refund(event_id, obj)
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return _intent(kind, event_id, obj)
    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        won = kind == "charge.dispute.closed" and obj.get("status") == "won"
        if kind == "charge.dispute.closed" and not won:
            return payments.Outcome.IGNORED  # lost: the money already left at creation
        return payments.disputed(provider="stripe", event_id=event_id, won=won,
                                 payment_reference=_id_of(obj.get("payment_intent")),
                                 dispute_id=str(obj.get("id")),
                                 amount_cents=int(obj.get("amount") or 0))
    return payments.Outcome.IGNORED


def _ours(refund: Any) -> str | None:
    return (refund.get("metadata") or {}).get("frontdesk_refund")


def _refund(event_id: str, obj: Any) -> payments.Outcome:
    """A refund's own event: posted once succeeded; a failed or canceled one of ours reads
    failed (and nothing posts)."""
    refund_id = str(obj.get("id") or "")
    if obj.get("status") == "succeeded":
        return payments.refunded(provider="stripe", event_id=event_id,
                                 payment_reference=_id_of(obj.get("payment_intent")),
                                 refunds=[(refund_id, int(obj.get("amount") or 0))],
                                 asked={refund_id: _ours(obj)})
    if obj.get("status") in ("failed", "canceled"):
        return refunds.provider_failed(provider="stripe", refund_id=refund_id, ours_id=_ours(obj),
                                       code=str(obj.get("failure_reason") or obj["status"]))
    return payments.Outcome.IGNORED


def _intent(kind: str, event_id: str, obj: Any) -> payments.Outcome:
    """A saved card's installment charge settles (or fails) here; the checkout of a patient
    who agreed to keep the card names the card to save."""
    metadata = obj.get("metadata") or {}
    if metadata.get("plan_installment") and kind == "payment_intent.succeeded":
        return payments.checkout_paid(payments.CheckoutPaid(
            provider="stripe", event_id=event_id, session_id=str(obj.get("id") or ""),
            amount_cents=int(obj.get("amount_received") or obj.get("amount") or 0),
            request_id=metadata.get("payment_request"), payment_reference=obj.get("id"),
            source="card"))
    if metadata.get("plan_installment"):
        code = (obj.get("last_payment_error") or {}).get("code")
        failed = cards.charge_failed(request_id=metadata.get("payment_request"), code=code)
        return payments.Outcome.POSTED if failed else payments.Outcome.REPEATED
    if kind == "payment_intent.succeeded" and obj.get("setup_future_usage") == "off_session":
        saved = cards.card_saved(request_id=metadata.get("payment_request"), provider="stripe",
                                 customer_ref=_id_of(obj.get("customer")),
                                 method_ref=_id_of(obj.get("payment_method")))
        return payments.Outcome.POSTED if saved else payments.Outcome.IGNORED
    return payments.Outcome.IGNORED


def _id_of(value: Any) -> str | None:
    """An expandable field: the id, or the expanded object's id."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")
