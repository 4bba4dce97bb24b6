"""The demo provider: a checkout page of our own (``/pay/demo/<session>``) that simulates a
card payment succeeding or being declined, for development and tests. No money moves.

A saved demo card is a method reference naming how it behaves on later off-session charges:
``demo_pm_ok`` is charged, ``demo_pm_declines`` is declined, ``demo_pm_authenticate`` needs
the patient (authentication required). Refunds always succeed. Every answer is final: there
is no webhook.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from app.adapters.payments.base import (
    ChargeResult,
    ChargeStatus,
    CheckoutRequest,
    CheckoutSession,
    RefundRequest,
    RefundResult,
    SavedCardCharge,
    payment_providers,
)

DEMO_CHECKOUT_PATH = "/pay/demo/"
DEMO_CARDS = {"approve": "demo_pm_ok", "approve_declines_later": "demo_pm_declines",
              "approve_authenticate_later": "demo_pm_authenticate"}


@payment_providers.register("demo")
class DemoPayments:
    name = "demo"
    confirms_by_webhook = False

    def __init__(self, *, public_base_url: str) -> None:
        self._base = public_base_url

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DemoPayments:
        return cls(public_base_url=settings["PUBLIC_BASE_URL"])

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        session_id = f"demo_{secrets.token_urlsafe(18)}"
        return CheckoutSession(session_id=session_id,
                               url=f"{self._base}{DEMO_CHECKOUT_PATH}{session_id}")

    def charge_saved_card(self, charge: SavedCardCharge) -> ChargeResult:
        # the same key gives the same reference, as a provider's idempotency key would
        reference = "demo_pi_" + hashlib.sha256(charge.idempotency_key.encode()).hexdigest()[:24]
        if charge.method_ref == DEMO_CARDS["approve_declines_later"]:
            return ChargeResult(reference, ChargeStatus.DECLINED, "card_declined")
        if charge.method_ref == DEMO_CARDS["approve_authenticate_later"]:
            return ChargeResult(reference, ChargeStatus.AUTHENTICATION_REQUIRED,
                                "authentication_required")
        return ChargeResult(reference, ChargeStatus.SUCCEEDED)

    def refund(self, request: RefundRequest) -> RefundResult:
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        return RefundResult(reference=f"demo_re_{digest}", status="succeeded")
