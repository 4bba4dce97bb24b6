"""The demo provider: a checkout page of our own (``/pay/demo/<session>``) that simulates a
card payment succeeding or being declined, for development and tests. No money moves."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from app.adapters.payments.base import CheckoutRequest, CheckoutSession, payment_providers

DEMO_CHECKOUT_PATH = "/pay/demo/"


@payment_providers.register("demo")
class DemoPayments:
    name = "demo"

    def __init__(self, *, public_base_url: str) -> None:
        self._base = public_base_url

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DemoPayments:
        return cls(public_base_url=settings["PUBLIC_BASE_URL"])

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        session_id = f"demo_{secrets.token_urlsafe(18)}"
        return CheckoutSession(session_id=session_id,
                               url=f"{self._base}{DEMO_CHECKOUT_PATH}{session_id}")
