"""What a payment provider does for us: open a hosted checkout for one amount (saving the
card when the patient agreed), charge a saved card later without the patient (off-session),
and refund a payment.

Adapters know nothing of models: billing passes plain values (cents, a description with no
clinical detail, opaque ids as metadata, the pages to come back to) and gets the provider's
session id and the URL to send the patient to. What was paid comes back by webhook (Stripe)
or by the demo checkout page, and billing posts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
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
    save_card: bool = False  # the patient agreed: keep the card for later off-session charges


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


@dataclass(frozen=True)
class SavedCardCharge:
    """Charge a saved card without the patient (a plan's installment)."""

    amount_cents: int
    currency: str
    customer_ref: str
    method_ref: str
    description: str  # no PHI
    idempotency_key: str  # one per installment: a retried charge never charges twice
    metadata: dict[str, str] = field(default_factory=dict)


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"  # the outcome comes later (webhook)
    DECLINED = "declined"
    AUTHENTICATION_REQUIRED = "authentication_required"  # the bank wants the patient present


@dataclass(frozen=True)
class ChargeResult:
    reference: str | None  # the provider's payment (a Stripe PaymentIntent id)
    status: ChargeStatus
    error_code: str | None = None  # the provider's code (card_declined, ...): no PHI


@dataclass(frozen=True)
class RefundRequest:
    payment_reference: str  # the provider's payment (PaymentIntent id, demo session id)
    amount_cents: int
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    reference: str
    status: str  # the provider's word: pending, succeeded, failed, ...


class PaymentProviderError(Exception):
    """The provider refused or could not be reached; the message names no patient."""


class PaymentProvider(Protocol):
    name: str
    # True: a charge or refund is settled only when the provider's webhook says so (Stripe);
    # False: the answer of the call is final (demo).
    confirms_by_webhook: bool

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def charge_saved_card(self, charge: SavedCardCharge) -> ChargeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...


payment_providers: Registry[PaymentProvider] = Registry("PAYMENT_PROVIDER")


def get_payment_provider(settings: Mapping[str, Any]) -> PaymentProvider:
    return payment_providers.build(settings)
