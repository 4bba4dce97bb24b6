"""No billing system: balances are kept in Frontdesk only, nothing is pushed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.adapters.billing.base import PostedMoney, billing_adapters


@billing_adapters.register("none")
class NoBillingSystem:
    name = "none"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> NoBillingSystem:
        return cls()

    def push(self, money: PostedMoney) -> None:
        return None
