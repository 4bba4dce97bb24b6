"""What a payment provider does for us: open a hosted checkout for one amount.

Adapters know nothing of models: billing passes plain values (cents, a description with no
clinical detail, opaque ids as metadata, the pages to come back to) and gets the provider's
session id and the URL to send the patient to. What was paid comes back by webhook (Stripe)
or by the demo checkout page, and billing posts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.adapters.registry import Registry


@dataclass(frozen=True)
class CheckoutRequest:
    amount_cents: int
    currency: str
    description: str  # what the patient's card statement and the checkout show: no PHI
    reference: str  # our opaque id for the request (client_reference_id)
    success_url: str
    cancel_url: str
    metadata: dict[str, str] = field(default_factory=dict)
    customer_email: str | None = None


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


class PaymentProviderError(Exception):
    """The provider refused or could not be reached; the message names no patient."""


class PaymentProvider(Protocol):
    name: str

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...


payment_providers: Registry[PaymentProvider] = Registry("PAYMENT_PROVIDER")


def get_payment_provider(settings: Mapping[str, Any]) -> PaymentProvider:
    return payment_providers.build(settings)
