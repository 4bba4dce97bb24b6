"""The practice directory's write side: providers and locations, cleaned and saved.

Used by the FHIR API (Practitioner, Location) and meant for any settings screen, so a value
is checked the same way whichever door it comes through. Writes flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from app.core import phones
from app.core.errors import FieldErrors
from app.extensions import db
from app.practice.models import Location, Provider


class DirectoryInputError(FieldErrors):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""


class DuplicateEntry(FieldErrors):
    """Another record already holds this unique value: a field error (``field`` names it) that
    the API answers as a conflict, not as invalid input; ``str()`` is the reason alone."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__({field: reason})
        self.args = (reason,)
        self.field = field


@dataclass(frozen=True)
class ProviderFields:
    given_name: str
    family_name: str
    prefix: str | None = None
    credentials: str | None = None
    npi: str | None = None
    active: bool = True


@dataclass(frozen=True)
class LocationFields:
    name: str
    address_line: str
    city: str
    postal_code: str
    phone: str
    timezone: str
    state: str = ""  # two letters in the US; empty where there is no state


class FieldCleaner:
    """Collects every bad field of one form or resource; ``text`` cleans one value."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def text(self, name: str, label: str, limit: int, *, required: bool = False) -> str:
        value = self.raw.get(name)
        cleaned = "" if value is None else " ".join(str(value).split())
        if required and not cleaned:
            self.errors[name] = f"missing {label}"
        elif len(cleaned) > limit:
            self.errors[name] = f"{label} is longer than {limit} characters"
        elif any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
            self.errors[name] = f"{label} contains control characters"
        return cleaned

    def fail_if_any(self) -> None:
        if self.errors:
            raise DirectoryInputError(self.errors)


def npi_is_valid(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over "80840" + the first nine (CMS)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def clean_provider_fields(raw: Mapping[str, object]) -> ProviderFields:
    cleaner = FieldCleaner(raw)
    given = cleaner.text("given_name", "given name", 100, required=True)
    family = cleaner.text("family_name", "family name", 100, required=True)
    prefix = cleaner.text("prefix", "prefix", 20) or None
    credentials = cleaner.text("credentials", "credentials", 40) or None
    npi = cleaner.text("npi", "NPI", 10) or None
    if npi and "npi" not in cleaner.errors and not npi_is_valid(npi):
        cleaner.errors["npi"] = f"{npi!r} is not a valid NPI (ten digits with a check digit)"
    cleaner.fail_if_any()
    return ProviderFields(given_name=given, family_name=family, prefix=prefix,
                          credentials=credentials, npi=npi, active=bool(raw.get("active", True)))


def clean_location_fields(raw: Mapping[str, object], *, default_region: str = "US"
                          ) -> LocationFields:
    cleaner = FieldCleaner(raw)
    name = cleaner.text("name", "name", 200, required=True)
    line = cleaner.text("address_line", "street address", 200, required=True)
    city = cleaner.text("city", "city", 100, required=True)
    postal = cleaner.text("postal_code", "postal code", 10, required=True)
    state = cleaner.text("state", "state", 2).upper()
    if state and not state.isalpha():
        cleaner.errors["state"] = f"state {state!r} is not a two-letter code"
    phone = cleaner.text("phone", "phone number", 40, required=True)
    if phone and "phone" not in cleaner.errors:
        try:
            phone = phones.to_e164(phone, default_region)
        except phones.InvalidPhoneNumber:
            cleaner.errors["phone"] = f"unparseable phone number {phone!r}"
    zone = cleaner.text("timezone", "time zone", 64, required=True)
    if zone and "timezone" not in cleaner.errors:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            cleaner.errors["timezone"] = f"unknown time zone {zone!r} (an IANA name)"
    cleaner.fail_if_any()
    return LocationFields(name=name, address_line=line, city=city, postal_code=postal,
                          phone=phone, timezone=zone, state=state)


def _changes(record: object, values: object) -> list[str]:
    return [f.name for f in fields(values)  # type: ignore[arg-type]
            if getattr(record, f.name) != getattr(values, f.name)]


def _check_npi(npi: str | None, provider_id: int | None) -> None:
    if npi is None:
        return
    holder = db.session.execute(select(Provider.id).where(Provider.npi == npi)).scalar()
    if holder is not None and holder != provider_id:
        raise DuplicateEntry("npi", f"NPI {npi} already belongs to another provider")


def create_provider(*, practice_id: int, values: ProviderFields) -> Provider:
    _check_npi(values.npi, None)
    provider = Provider(practice_id=practice_id, **asdict(values))
    db.session.add(provider)
    db.session.flush()
    return provider


def update_provider(*, provider: Provider, values: ProviderFields) -> list[str]:
    """Apply new values; return the names of the fields that changed."""
    _check_npi(values.npi, provider.id)
    changes = _changes(provider, values)
    for name in changes:
        setattr(provider, name, getattr(values, name))
    db.session.flush()
    return changes


def _check_location_name(practice_id: int, name: str, location_id: int | None) -> None:
    holder = db.session.execute(
        select(Location.id).where(Location.practice_id == practice_id, Location.name == name)
    ).scalar()
    if holder is not None and holder != location_id:
        raise DuplicateEntry("name", f"the practice already has a location named {name!r}")


def create_location(*, practice_id: int, values: LocationFields) -> Location:
    _check_location_name(practice_id, values.name, None)
    location = Location(practice_id=practice_id, **asdict(values))
    db.session.add(location)
    db.session.flush()
    return location


def update_location(*, location: Location, values: LocationFields) -> list[str]:
    """Apply new values; return the names of the fields that changed."""
    _check_location_name(location.practice_id, values.name, location.id)
    changes = _changes(location, values)
    for name in changes:
        setattr(location, name, getattr(values, name))
    db.session.flush()
    return changes
