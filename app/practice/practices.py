"""Practices: a new practice created from checked details, and the list of practices.

Each value is checked the same way whichever door it comes through (``flask practice
create`` today, a settings screen next): a name, the phone patients call (stored E.164), an
IANA time zone, and optionally a contact email and an http(s) website. Every bad field is
named at once in a ``PracticeInputError``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from app.core import phones
from app.core.errors import FieldErrors
from app.extensions import db
from app.practice.models import Practice


class PracticeInputError(FieldErrors):
    """One or more of a practice's details are invalid; ``errors`` names each field."""


class DuplicatePractice(ValueError):
    """A practice with the same name and phone number exists (``practice_id``): running
    ``flask practice create`` twice must not make two."""

    def __init__(self, practice_id: int) -> None:
        super().__init__(f"practice {practice_id} already has this name and phone number "
                         "(see 'flask practice list')")
        self.practice_id = practice_id


@dataclass(frozen=True)
class PracticeFields:
    name: str
    phone: str  # E.164
    timezone: str  # IANA
    email: str | None = None
    website: str | None = None


def _text(raw: str | None) -> str:
    return " ".join((raw or "").split())


def _has_control_characters(value: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in value)


def _is_web_address(text: str) -> bool:
    """An http(s) URL with a host name, and no spaces or control characters."""
    if " " in text or _has_control_characters(text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (reading it checks the port)
    except ValueError:  # "http://[oak" (a bracket that is no IPv6 address), a bad port
        return False
    return parts.scheme in {"http", "https"} and "." in (parts.hostname or "").strip(".")


def clean_practice_fields(*, name: str | None, phone: str | None, timezone: str | None,
                          email: str | None = None, website: str | None = None,
                          default_region: str = "US") -> PracticeFields:
    """The details as stored, or ``PracticeInputError`` naming every bad field."""
    errors: dict[str, str] = {}
    name, phone, timezone = _text(name), _text(phone), (timezone or "").strip()
    email, website = _text(email) or None, (website or "").strip() or None

    if not name:
        errors["name"] = "missing name"
    elif len(name) > 200 or _has_control_characters(name):
        errors["name"] = "the name must be at most 200 printable characters"

    if not phone:
        errors["phone"] = "missing phone number"
    else:
        try:
            phone = phones.to_e164(phone, default_region)
        except phones.InvalidPhoneNumber:
            errors["phone"] = f"{phone!r} is not a valid phone number (e.g. +13125550100)"

    if not timezone:
        errors["timezone"] = "missing time zone"
    elif timezone not in available_timezones():
        errors["timezone"] = f"{timezone!r} is not an IANA time zone (e.g. America/Chicago)"

    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = f"{email!r} is not an email address"
        else:
            if len(email) > 254:
                errors["email"] = "the email address is longer than 254 characters"

    if website is not None:
        if not _is_web_address(website):
            errors["website"] = f"{website!r} is not a web address (http:// or https://)"
        elif len(website) > 300:
            errors["website"] = "the web address is longer than 300 characters"

    if errors:
        raise PracticeInputError(errors)
    return PracticeFields(name=name, phone=phone, timezone=timezone, email=email,
                          website=website)


def create_practice(*, name: str, phone: str, timezone: str, email: str | None = None,
                    website: str | None = None) -> Practice:
    """Check the details and save the practice (one transaction).

    Raises ``PracticeInputError`` naming each bad field, ``DuplicatePractice`` when one with
    the same name (case aside) and phone exists; nothing is saved then."""
    values = clean_practice_fields(name=name, phone=phone, timezone=timezone, email=email,
                                   website=website)
    existing = db.session.execute(
        select(Practice.id).where(func.lower(Practice.name) == values.name.lower(),
                                  Practice.phone == values.phone).order_by(Practice.id)
    ).scalars().first()
    if existing is not None:
        raise DuplicatePractice(existing)
    practice = Practice(**asdict(values))
    db.session.add(practice)
    db.session.commit()
    return practice


def list_practices() -> list[Practice]:
    return list(db.session.execute(select(Practice).order_by(Practice.id)).scalars())


def get_practice(*, practice_id: int) -> Practice:
    return db.session.get_one(Practice, practice_id)


def practice_zone(practice_id: int) -> ZoneInfo:
    """The practice's own time zone: the one its dates mean and its staff's screens show."""
    return ZoneInfo(db.session.get_one(Practice, practice_id).timezone)
