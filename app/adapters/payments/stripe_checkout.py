"""Stripe Checkout through the official SDK: one Checkout Session per payment attempt.

The session carries our request's opaque ids as metadata (copied onto the PaymentIntent, so
refunds and disputes can be traced back too) and a description with no clinical detail
(Stripe signs no BAA). ``STRIPE_API_BASE_URL`` points the SDK at another host (a local fake),
as ``TWILIO_API_BASE_URL`` and ``SENDGRID_API_BASE_URL`` do for theirs. Webhook signatures
are checked in billing's webhook with ``stripe.Webhook.construct_event``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from app.adapters.payments.base import (
    CheckoutRequest,
    CheckoutSession,
    PaymentProviderError,
    payment_providers,
)


@payment_providers.register("stripe")
class StripeCheckout:
    name = "stripe"

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
        try:
            session = self._client.v1.checkout.sessions.create(params=params)
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"stripe refused the checkout session: {error.code or type(error).__name__}"
            ) from None
        return CheckoutSession(session_id=session.id, url=session.url)
