"""Billing systems: ``get_billing_adapter(settings)`` picks one by ``BILLING_ADAPTER``."""

from app.adapters.billing import none, webhook  # noqa: F401  (each registers itself)
from app.adapters.billing.base import (
    BillingAdapter,
    BillingPushError,
    PostedMoney,
    get_billing_adapter,
)

__all__ = ["BillingAdapter", "BillingPushError", "PostedMoney", "get_billing_adapter"]
