"""Stripe Checkout through the official SDK: one Checkout Session per payment attempt.

The session carries our request's opaque ids as metadata (copied onto the PaymentIntent, so
refunds and disputes can be traced back too) and a description with no clinical detail
(Stripe signs no BAA). ``STRIPE_API_BASE_URL`` points the SDK at another host (a local fake),
as ``TWILIO_API_BASE_URL`` and ``SENDGRID_API_BASE_URL`` do for theirs. Webhook signatures
are checked in billing's webhook with ``stripe.Webhook.construct_event``.

A checkout whose patient agreed to keep the card creates a Customer
(``customer_creation=always``) and saves the card for off-session use
(``payment_intent_data.setup_future_usage=off_session``). A later installment is a
PaymentIntent created and confirmed off-session on that customer and card, and a refund a
Refund of the PaymentIntent; both carry an idempotency key, so a retried call never charges or
refunds twice. What they settle arrives by webhook (``payment_intent.succeeded``,
``charge.refunded``, ``refund.updated``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from app.adapters.payments.base import (
    ChargeResult,
    ChargeStatus,
    CheckoutRequest,
    CheckoutSession,
    PaymentProviderError,
    RefundRequest,
    RefundResult,
    SavedCardCharge,
    payment_providers,
)

_INTENT_STATUS = {"succeeded": ChargeStatus.SUCCEEDED, "processing": ChargeStatus.PROCESSING,
                  "requires_action": ChargeStatus.AUTHENTICATION_REQUIRED,
                  "requires_confirmation": ChargeStatus.AUTHENTICATION_REQUIRED}


@payment_providers.register("stripe")
class StripeCheckout:
    name = "stripe"
    confirms_by_webhook = True

    def __init__(self, *, secret_key: str, api_base_url: str | None = None,
                 timeout: float = 10.0) -> None:
        options: dict[str, Any] = {"http_client": stripe.RequestsClient(timeout=timeout),
                                   "max_network_retries": 0}
        if api_base_url:
            options["base_addresses"] = {"api": api_base_url}
        self._client = stripe.StripeClient(secret_key, **options)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> StripeCheckout:
        return cls(secret_key=settings["STRIPE_SECRET_KEY"],
                   api_base_url=settings["STRIPE_API_BASE_URL"] or None,
                   timeout=settings["PROVIDER_TIMEOUT_SECONDS"])

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": request.reference,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": request.metadata,
            "payment_intent_data": {"metadata": request.metadata,
                                    "description": request.description},
            "line_items": [{"quantity": 1, "price_data": {
                "currency": request.currency, "unit_amount": request.amount_cents,
                "product_data": {"name": request.description}}}],
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.save_card:
            params["customer_creation"] = "always"
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        try:
            session = self._client.v1.checkout.sessions.create(params=params)
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"stripe refused the checkout session: {error.code or type(error).__name__}"
            ) from None
        return CheckoutSession(session_id=session.id, url=session.url)

    def charge_saved_card(self, charge: SavedCardCharge) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": charge.amount_cents, "currency": charge.currency,
            "customer": charge.customer_ref, "payment_method": charge.method_ref,
            "off_session": True, "confirm": True, "description": charge.description,
            "metadata": charge.metadata}
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": charge.idempotency_key})
        except stripe.CardError as error:
            code = error.code or "card_declined"
            body = error.json_body if isinstance(error.json_body, dict) else {}
            intent = (body.get("error") or {}).get("payment_intent") or {}
            status = (ChargeStatus.AUTHENTICATION_REQUIRED if code == "authentication_required"
                      else ChargeStatus.DECLINED)
            return ChargeResult(intent.get("id"), status, code)
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"stripe refused the charge: {error.code or type(error).__name__}") from None
        return ChargeResult(intent.id, _INTENT_STATUS.get(intent.status, ChargeStatus.DECLINED),
                            None if intent.status in _INTENT_STATUS else intent.status)

    def refund(self, request: RefundRequest) -> RefundResult:
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": request.payment_reference,
                        "amount": request.amount_cents, "metadata": request.metadata},
                options={"idempotency_key": request.idempotency_key})
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"stripe refused the refund: {error.code or type(error).__name__}") from None
        return RefundResult(reference=refund.id, status=refund.status or "pending")
