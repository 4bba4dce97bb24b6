"""Money as integer cents: reading what staff type, showing what patients read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

MAX_CENTS = 100_000_000  # $1,000,000: more is a typing mistake


class AmountInvalid(ValueError):
    """The text is not an amount of dollars and cents (the message says why)."""


def parse_cents(text: str | None) -> int:
    """``"12.5"`` → 1250. Refuses blanks, negatives, zero, fractions of a cent, huge sums."""
    cleaned = (text or "").strip().replace(",", "").removeprefix("$").strip()
    if not cleaned:
        raise AmountInvalid(_("Enter an amount."))
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountInvalid(_("Enter an amount in dollars, like 25.00.")) from None
    if not value.is_finite() or value <= 0:
        raise AmountInvalid(_("Enter an amount above zero."))
    cents = value * 100
    if cents != cents.to_integral_value():
        raise AmountInvalid(_("An amount has at most two decimals."))
    if cents > MAX_CENTS:
        raise AmountInvalid(_("That amount is too large."))
    return int(cents)


def dollars(cents: int) -> str:
    """1250 → ``$12.50``; -1250 → ``-$12.50``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"
