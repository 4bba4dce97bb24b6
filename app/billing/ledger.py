"""What a ledger means, without a database: the balance, the aging buckets and how much of a
payment can still be refunded. Pure functions over entries, so the property tests drive them
directly and the services and screens derive every number from them.

Aging (current, 31–60, 61–90, over 90 days): credits (payments, write-offs, discounts) pay
the oldest debits (charges, refunds, disputes) first; what is left of each debit is aged by
the day it was posted. A credit left over (the patient paid ahead) sits in "current", so the
buckets always sum to the balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

BUCKETS = ("current", "31_60", "61_90", "over_90")


@dataclass(frozen=True)
class Line:
    """An entry as the arithmetic sees it: its effect on the balance and its local day."""

    amount_cents: int
    on: date


@dataclass(frozen=True)
class Aging:
    current: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    over_90: int = 0

    @property
    def total(self) -> int:
        return self.current + self.days_31_60 + self.days_61_90 + self.over_90

    def as_dict(self) -> dict[str, int]:
        return dict(zip(BUCKETS, (self.current, self.days_31_60, self.days_61_90,
                                  self.over_90), strict=True))


def balance(lines: Iterable[Line]) -> int:
    return sum(line.amount_cents for line in lines)


def bucket_of(age_days: int) -> str:
    if age_days <= 30:
        return "current"
    if age_days <= 60:
        return "31_60"
    if age_days <= 90:
        return "61_90"
    return "over_90"


def aging(lines: Sequence[Line], *, today: date) -> Aging:
    credit = -sum(line.amount_cents for line in lines if line.amount_cents < 0)
    buckets = dict.fromkeys(BUCKETS, 0)
    for line in sorted((line for line in lines if line.amount_cents > 0), key=lambda x: x.on):
        paid = min(credit, line.amount_cents)
        credit -= paid
        buckets[bucket_of((today - line.on).days)] += line.amount_cents - paid
    buckets["current"] -= credit
    return Aging(*(buckets[name] for name in BUCKETS))


def refundable(payment_cents: int, refunded_cents: Iterable[int]) -> int:
    """What is left to refund of a payment of ``payment_cents`` (a positive number) after the
    refunds already made (positive numbers)."""
    return max(0, payment_cents - sum(refunded_cents))
