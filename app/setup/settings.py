"""A practice's own settings: its details and messaging window, its senders, and its
locations and providers as the settings screens save them.

Each ``save_*``/``update_*`` is one transaction, checks every field at once (``FieldErrors``
naming them), and audits the names of the fields it changed. Locations and providers are
cleaned and written by ``app.practice.directory``, the same code the FHIR API uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core import phones
from app.core.errors import FieldErrors
from app.extensions import db
from app.practice import directory
from app.practice.directory import FieldCleaner, LocationFields, ProviderFields
from app.practice.models import Location, Practice, Provider
from app.practice.practices import get_practice
from app.security import audit

MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
# 47 CFR 64.1200(c)(1): no telephone solicitation before 8 AM or after 9 PM, the called
# party's local time. The window must also be long enough to send a day's reminders in.
EARLIEST_SEND, LATEST_SEND = time(8, 0), time(21, 0)
SHORTEST_WINDOW = timedelta(hours=1)


class PracticeInputError(FieldErrors):
    """One or more practice settings are invalid; ``errors`` maps each field to a reason."""


@dataclass(frozen=True)
class PracticeDetails:
    name: str
    phone: str
    email: str | None
    website: str | None
    timezone: str
    send_window_start: time
    send_window_end: time


@dataclass(frozen=True)
class Senders:
    """Empty values: the deployment's settings (TWILIO_*, SENDGRID_FROM_EMAIL)."""

    sms_from_number: str | None
    sms_messaging_service_sid: str | None
    email_from_address: str | None


def _email(cleaner: FieldCleaner, name: str, label: str) -> str | None:
    value = cleaner.text(name, label, 254)
    if not value or name in cleaner.errors:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        cleaner.errors[name] = _("%(field)s '%(value)s' is not an email address", field=label,
                                 value=value)
        return None


def _phone(cleaner: FieldCleaner, name: str, label: str, *, required: bool) -> str | None:
    value = cleaner.text(name, label, 40, required=required)
    if not value or name in cleaner.errors:
        return None
    try:
        return phones.to_e164(value, "US")
    except phones.InvalidPhoneNumber:
        cleaner.errors[name] = _("%(field)s '%(value)s' is not a phone number", field=label,
                                 value=value)
        return None


def clean_details(raw: Mapping[str, object]) -> PracticeDetails:
    """``raw`` holds text, except the send window's times (``datetime.time`` or None)."""
    cleaner = FieldCleaner(raw)
    name = cleaner.text("name", _("name"), 200, required=True)
    phone = _phone(cleaner, "phone", _("phone number"), required=True)
    email = _email(cleaner, "email", _("email"))
    website = cleaner.text("website", _("website"), 300) or None
    if website and "website" not in cleaner.errors:
        if "://" not in website:
            website = f"https://{website}"
        parts = urlsplit(website)
        if parts.scheme not in ("http", "https") or "." not in (parts.hostname or ""):
            cleaner.errors["website"] = _("'%(value)s' is not a web address", value=website)
    zone = cleaner.text("timezone", _("time zone"), 64, required=True)
    if zone and "timezone" not in cleaner.errors:
        cleaner.errors.update(directory.zone_errors("timezone", zone))
    start, end = raw.get("send_window_start"), raw.get("send_window_end")
    cleaner.errors.update(_send_window_errors(start, end))
    cleaner.fail_if_any()
    return PracticeDetails(name=name, phone=phone or "", email=email, website=website,
                           timezone=zone, send_window_start=start,  # type: ignore[arg-type]
                           send_window_end=end)  # type: ignore[arg-type]


def _send_window_errors(start: object, end: object) -> dict[str, str]:
    """Each end of the messaging window: a time of day within 8 AM–9 PM, an hour apart."""
    errors = {key: _("missing time of day") for key, value
              in (("send_window_start", start), ("send_window_end", end))
              if not isinstance(value, time)}
    if isinstance(start, time) and start < EARLIEST_SEND:
        errors["send_window_start"] = _("messages may not be sent before 8:00 AM (federal "
                                        "rule 47 CFR 64.1200(c)(1))")
    if isinstance(end, time) and end > LATEST_SEND:
        errors["send_window_end"] = _("messages may not be sent after 9:00 PM (federal "
                                      "rule 47 CFR 64.1200(c)(1))")
    if errors or not isinstance(start, time) or not isinstance(end, time):
        return errors
    day = date(2000, 1, 1)
    if datetime.combine(day, end) - datetime.combine(day, start) < SHORTEST_WINDOW:
        errors["send_window_end"] = _("the window must end at least one hour after it starts")
    return errors


def clean_senders(raw: Mapping[str, object]) -> Senders:
    cleaner = FieldCleaner(raw)
    number = _phone(cleaner, "sms_from_number", _("SMS number"), required=False)
    sid = cleaner.text("sms_messaging_service_sid", _("Messaging Service SID"), 34) or None
    if sid and "sms_messaging_service_sid" not in cleaner.errors \
            and not MESSAGING_SERVICE_SID.fullmatch(sid):
        cleaner.errors["sms_messaging_service_sid"] = _(
            "'%(value)s' is not a Messaging Service SID (MG and 32 hexadecimal digits)",
            value=sid)
    sender = _email(cleaner, "email_from_address", _("email sender"))
    cleaner.fail_if_any()
    return Senders(sms_from_number=number, sms_messaging_service_sid=sid,
                   email_from_address=sender)


def update_details(*, practice_id: int, values: PracticeDetails) -> list[str]:
    """Save the details; return the names of the fields that changed."""
    return _apply(get_practice(practice_id=practice_id), values, audit.Action.PRACTICE_UPDATE)


def update_senders(*, practice_id: int, values: Senders) -> list[str]:
    """Save the senders. A number or Messaging Service another practice owns is refused
    (``PracticeInputError`` naming the field): texts to it are routed by it."""
    owned = {"sms_from_number": Practice.sms_from_number,
             "sms_messaging_service_sid": Practice.sms_messaging_service_sid}
    errors = {}
    for name, column in owned.items():
        value = getattr(values, name)
        if value and db.session.execute(select(Practice.id).where(
                column == value, Practice.id != practice_id)).first():
            errors[name] = _("%(value)s is already used by another practice", value=value)
    if errors:
        raise PracticeInputError(errors)
    try:
        return _apply(get_practice(practice_id=practice_id), values,
                      audit.Action.PRACTICE_SENDERS_UPDATE)
    except IntegrityError as error:  # another practice took it at the same moment
        db.session.rollback()
        field = ("sms_messaging_service_sid" if "sms_messaging_service_sid" in str(error.orig)
                 else "sms_from_number")
        raise PracticeInputError({field: _("already used by another practice")}) from None


def _apply(practice: Practice, values: PracticeDetails | Senders, action: audit.Action
           ) -> list[str]:
    changes = [f.name for f in fields(values)
               if getattr(practice, f.name) != getattr(values, f.name)]
    if not changes:
        return changes
    for name in changes:
        setattr(practice, name, getattr(values, name))
    db.session.flush()
    audit.record(action, object_type="practice", object_id=practice.id,
                 detail={"changed": changes})
    db.session.commit()
    return changes


# -- locations and providers -------------------------------------------------------------------

def list_locations(*, practice_id: int) -> list[Location]:
    return list(db.session.execute(select(Location).where(Location.practice_id == practice_id)
                                   .order_by(Location.name)).scalars())


def list_providers(*, practice_id: int) -> list[Provider]:
    return list(db.session.execute(select(Provider).where(Provider.practice_id == practice_id)
                                   .order_by(Provider.family_name, Provider.given_name))
                .scalars())


def get_location(*, practice_id: int, location_id: int) -> Location | None:
    """The location, or None when it does not exist or is another practice's."""
    location = db.session.get(Location, location_id)
    return location if location is not None and location.practice_id == practice_id else None


def get_provider(*, practice_id: int, provider_id: int) -> Provider | None:
    """The provider, or None when it does not exist or is another practice's."""
    provider = db.session.get(Provider, provider_id)
    return provider if provider is not None and provider.practice_id == practice_id else None


def save_location(*, practice_id: int, location: Location | None, values: LocationFields
                  ) -> Location:
    """Create (``location`` None) or update a location. Raises ``directory.DuplicateEntry``
    for a name the practice already uses."""
    if location is None:
        location = directory.create_location(practice_id=practice_id, values=values)
        changes = ["created"]
    else:
        changes = directory.update_location(location=location, values=values)
    _audit_and_commit(audit.Action.LOCATION_SAVE, location, changes)
    return location


def save_provider(*, practice_id: int, provider: Provider | None, values: ProviderFields,
                  location_ids: Sequence[int]) -> Provider:
    """Create (``provider`` None) or update a provider and the locations they work at.

    Raises ``PracticeInputError`` for a location not of this practice, ``DuplicateEntry`` for
    an NPI another provider has (``directory.DuplicateEntry``)."""
    chosen = [get_location(practice_id=practice_id, location_id=i) for i in location_ids]
    if None in chosen:
        raise PracticeInputError({"location_ids": _("choose among this practice's locations")})
    if provider is None:
        provider = directory.create_provider(practice_id=practice_id, values=values)
        changes = ["created"]
    else:
        changes = directory.update_provider(provider=provider, values=values)
    if {loc.id for loc in provider.locations} != set(location_ids):
        provider.locations = [loc for loc in chosen if loc is not None]
        changes.append("locations")
    _audit_and_commit(audit.Action.PROVIDER_SAVE, provider, changes)
    return provider


def _audit_and_commit(action: audit.Action, record: Location | Provider, changes: list[str]
                      ) -> None:
    if changes:
        db.session.flush()
        audit.record(action, object_type=type(record).__name__.lower(), object_id=record.id,
                     detail={"changed": changes})
    db.session.commit()

