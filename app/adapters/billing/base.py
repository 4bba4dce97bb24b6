"""What a billing system gets from us: each patient payment and refund once it is posted.

Billing hands a plain record (``PostedMoney``: ids, cents, kind, when; no names, no clinical
detail) and learns only whether the system took it: ``push`` returns, or raises
``BillingPushError`` and billing tries again later. ``idempotency_key`` is the ledger entry's
id, so a push repeated after a lost answer is recognised by the receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from app.adapters.registry import Registry


@dataclass(frozen=True)
class PostedMoney:
    idempotency_key: str  # the ledger entry's id
    kind: str  # patient_payment | refund
    amount_cents: int  # positive: what was paid or given back
    currency: str
    posted_at: str  # ISO 8601, UTC
    practice_id: int
    patient_id: int
    account_id: int  # the guarantor's patient id
    refund_of: str | None  # for a refund: the payment's ledger entry id
    provider_reference: str | None  # the card provider's payment or refund id

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BillingPushError(Exception):
    """The billing system did not take the push (unreachable, refused): try again later."""


class BillingAdapter(Protocol):
    name: str

    def push(self, money: PostedMoney) -> None: ...


billing_adapters: Registry[BillingAdapter] = Registry("BILLING_ADAPTER")


def get_billing_adapter(settings: Mapping[str, Any]) -> BillingAdapter:
    return billing_adapters.build(settings)
