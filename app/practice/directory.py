"""The practice directory's write side: providers and locations, cleaned and saved.

Used by the FHIR API (Practitioner, Location) and the set-up screens, so a value is checked
the same way whichever door it comes through. Writes flush; the caller commits. Reasons are in
the request's language (gettext), as the set-up screens show them; the FHIR API and the CLI
run in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import select

from app.core import phones, us_places
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
    state: str = ""  # the USPS code in the US; empty where there is no state


class FieldCleaner:
    """Collects every bad field of one form or resource; ``text`` cleans one value."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def text(self, name: str, label: str, limit: int, *, required: bool = False) -> str:
        value = self.raw.get(name)
        cleaned = "" if value is None else " ".join(str(value).split())
        if required and not cleaned:
            self.errors[name] = _("missing %(field)s", field=label)
        elif len(cleaned) > limit:
            self.errors[name] = _("%(field)s is longer than %(limit)d characters", field=label,
                                  limit=limit)
        elif any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
            self.errors[name] = _("%(field)s contains control characters", field=label)
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
    given = cleaner.text("given_name", _("given name"), 100, required=True)
    family = cleaner.text("family_name", _("family name"), 100, required=True)
    prefix = cleaner.text("prefix", _("prefix"), 20) or None
    credentials = cleaner.text("credentials", _("credentials"), 40) or None
    npi = cleaner.text("npi", "NPI", 10) or None
    if npi and "npi" not in cleaner.errors and not npi_is_valid(npi):
        cleaner.errors["npi"] = _("'%(value)s' is not a valid NPI (ten digits with a check "
                                  "digit)", value=npi)
    cleaner.fail_if_any()
    return ProviderFields(given_name=given, family_name=family, prefix=prefix,
                          credentials=credentials, npi=npi, active=bool(raw.get("active", True)))


def clean_location_fields(raw: Mapping[str, object], *, default_region: str = "US"
                          ) -> LocationFields:
    cleaner = FieldCleaner(raw)
    name = cleaner.text("name", _("name"), 200, required=True)
    line = cleaner.text("address_line", _("street address"), 200, required=True)
    city = cleaner.text("city", _("city"), 100, required=True)
    postal = cleaner.text("postal_code", _("postal code"), 10, required=True)
    state = cleaner.text("state", _("state"), 40 if default_region == "US" else 2)
    if default_region == "US":
        _check_us_address(cleaner, state, postal)
        state = us_places.state_code(state) or state
    elif state and "state" not in cleaner.errors and not state.isalpha():
        cleaner.errors["state"] = _("'%(value)s' is not a two-letter code", value=state)
    state = state.upper()
    phone = cleaner.text("phone", _("phone number"), 40, required=True)
    if phone and "phone" not in cleaner.errors:
        try:
            phone = phones.to_e164(phone, default_region)
        except phones.InvalidPhoneNumber:
            cleaner.errors["phone"] = _("unparseable phone number '%(value)s'", value=phone)
    zone = cleaner.text("timezone", _("time zone"), 64, required=True)
    if zone and "timezone" not in cleaner.errors:
        cleaner.errors.update(zone_errors("timezone", zone))
    cleaner.fail_if_any()
    return LocationFields(name=name, address_line=line, city=city, postal_code=postal,
                          phone=phone, timezone=zone, state=state)


def _check_us_address(cleaner: FieldCleaner, state: str, postal: str) -> None:
    """A US state or territory (its USPS code or its name) and a ZIP code."""
    if state and "state" not in cleaner.errors and us_places.state_code(state) is None:
        cleaner.errors["state"] = _("'%(value)s' is not a US state or territory (e.g. IL or "
                                    "Illinois)", value=state)
    if postal and "postal_code" not in cleaner.errors and not us_places.is_zip_code(postal):
        cleaner.errors["postal_code"] = _("'%(value)s' is not a ZIP code (12345 or "
                                          "12345-6789)", value=postal)


def zone_errors(name: str, zone: str) -> dict[str, str]:
    """``{name: reason}`` when ``zone`` is not an IANA time zone, else nothing."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return {name: _("unknown time zone '%(value)s' (an IANA name such as "
                        "America/Chicago)", value=zone)}
    return {}


def _changes(record: object, values: object) -> list[str]:
    return [f.name for f in fields(values)  # type: ignore[arg-type]
            if getattr(record, f.name) != getattr(values, f.name)]


def _check_npi(npi: str | None, provider_id: int | None) -> None:
    if npi is None:
        return
    holder = db.session.execute(select(Provider.id).where(Provider.npi == npi)).scalar()
    if holder is not None and holder != provider_id:
        raise DuplicateEntry("npi", _("NPI %(npi)s already belongs to another provider",
                                      npi=npi))


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
        raise DuplicateEntry("name", _("the practice already has a location named "
                                       "'%(name)s'", name=name))


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
