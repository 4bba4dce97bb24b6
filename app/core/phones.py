"""Phone numbers: parsed and stored as E.164 with phonenumbers, shown in national format."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The text is not a valid phone number."""


def to_e164(raw: str, default_region: str = "US") -> str:
    """"(415) 555-0134", "415.555.0134", "+1 415 555 0134" -> "+14155550134"."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str | None) -> str:
    """National format for numbers in the US, international for the rest."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)
