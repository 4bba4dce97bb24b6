"""Payment providers: ``get_payment_provider(settings)`` picks one by ``PAYMENT_PROVIDER``."""

from app.adapters.payments import demo, stripe_checkout  # noqa: F401  (each registers itself)
from app.adapters.payments.base import (
    ChargeResult,
    ChargeStatus,
    CheckoutRequest,
    CheckoutSession,
    PaymentProvider,
    PaymentProviderError,
    RefundRequest,
    RefundResult,
    SavedCardCharge,
    get_payment_provider,
)

__all__ = ["ChargeResult", "ChargeStatus", "CheckoutRequest", "CheckoutSession",
           "PaymentProvider", "PaymentProviderError", "RefundRequest", "RefundResult",
           "SavedCardCharge", "get_payment_provider"]
