"""Appointment types: what a practice books (name, length, buffers, who may book it online,
notice and horizon) and which providers offer each.

Types are never deleted, because appointments and waitlist entries reference them: an unused
type is deactivated. Every service checks its input and raises ``AppointmentTypeInputError``
mapping each bad field to a reason (in the page's language), then commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.messaging.content_check import find_clinical_detail
from app.practice.models import Provider
from app.scheduling import calendars
from app.scheduling.calendars import CalendarInputError
from app.scheduling.models import AppointmentType, provider_appointment_type
from app.scheduling.open_time import MAX_REACH

MAX_NAME_LENGTH = 100
MIN_DURATION, MAX_DURATION, DURATION_STEP = 5, 480, 5
MAX_BUFFER = 120
MAX_NOTICE_MINUTES = 30 * 24 * 60
MIN_DAYS_AHEAD, MAX_DAYS_AHEAD = 1, 730


class AppointmentTypeInputError(CalendarInputError):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""


class AppointmentTypeNotFound(LookupError):
    """No such appointment type in this practice."""


@dataclass(frozen=True)
class AppointmentTypeFields:
    """Everything a manager sets on an appointment type."""

    name: str
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    for_new_patients: bool = False
    bookable_online: bool = True
    active: bool = True
    min_notice_minutes: int = 120
    max_days_ahead: int = 90
    name_es: str = ""  # the Spanish name; empty: the English one on Spanish pages too


def list_appointment_types(*, practice_id: int) -> list[AppointmentType]:
    """The practice's types, active ones first, by name; their providers loaded."""
    return list(db.session.execute(
        select(AppointmentType).options(selectinload(AppointmentType.providers))
        .where(AppointmentType.practice_id == practice_id)
        .order_by(AppointmentType.active.desc(), AppointmentType.name, AppointmentType.id)
    ).scalars())


def get_appointment_type(*, practice_id: int, appointment_type_id: int) -> AppointmentType:
    kind = db.session.get(AppointmentType, appointment_type_id)
    if kind is None or kind.practice_id != practice_id:
        raise AppointmentTypeNotFound(appointment_type_id)
    return kind


def create_appointment_type(*, practice_id: int, fields: AppointmentTypeFields,
                            provider_ids: Sequence[int]) -> AppointmentType:
    """A new type, offered by ``provider_ids``."""
    _check(practice_id=practice_id, fields=fields, provider_ids=provider_ids, type_id=None)
    kind = AppointmentType(practice_id=practice_id)
    _apply(kind, fields)
    db.session.add(kind)
    db.session.flush()
    _offer(practice_id=practice_id, type_id=kind.id, provider_ids=provider_ids)
    db.session.commit()
    return kind


def update_appointment_type(*, practice_id: int, appointment_type_id: int,
                            fields: AppointmentTypeFields, provider_ids: Sequence[int]
                            ) -> AppointmentType:
    """Change a type and who offers it; ``fields.active`` False deactivates it (booked
    appointments keep it, nobody can book it any more)."""
    kind = get_appointment_type(practice_id=practice_id, appointment_type_id=appointment_type_id)
    _check(practice_id=practice_id, fields=fields, provider_ids=provider_ids, type_id=kind.id)
    _apply(kind, fields)
    db.session.flush()
    _offer(practice_id=practice_id, type_id=kind.id, provider_ids=provider_ids)
    db.session.commit()
    return kind


def _apply(kind: AppointmentType, fields: AppointmentTypeFields) -> None:
    kind.name = _clean_name(fields.name)
    kind.name_es = _clean_name(fields.name_es) or None
    kind.duration_minutes = fields.duration_minutes
    kind.buffer_before_minutes = fields.buffer_before_minutes
    kind.buffer_after_minutes = fields.buffer_after_minutes
    kind.for_new_patients = fields.for_new_patients
    kind.bookable_online = fields.bookable_online
    kind.active = fields.active
    kind.min_notice_minutes = fields.min_notice_minutes
    kind.max_days_ahead = fields.max_days_ahead


def _offer(*, practice_id: int, type_id: int, provider_ids: Sequence[int]) -> None:
    """Make ``provider_ids`` exactly the providers offering the type, through each changed
    provider's list of offered types."""
    wanted = set(provider_ids)
    offered: dict[int, set[int]] = {}
    for provider_id, offered_type_id in db.session.execute(
            select(Provider.id, provider_appointment_type.c.appointment_type_id)
            .outerjoin(provider_appointment_type,
                       provider_appointment_type.c.provider_id == Provider.id)
            .where(Provider.practice_id == practice_id)):
        types = offered.setdefault(provider_id, set())
        if offered_type_id is not None:
            types.add(offered_type_id)
    for provider_id, types in offered.items():
        if (type_id in types) != (provider_id in wanted):
            calendars.set_appointment_types(
                practice_id=practice_id, provider_id=provider_id,
                appointment_type_ids=sorted(types ^ {type_id}))


def type_name(kind: AppointmentType) -> str:
    """The type's name in the language of the page (or message) being made."""
    return kind.name_in(str(get_locale() or "en"))


def _clean_name(name: str) -> str:
    return " ".join((name or "").split())


def _check(*, practice_id: int, fields: AppointmentTypeFields, provider_ids: Sequence[int],
           type_id: int | None) -> None:
    errors: dict[str, str] = {}
    name = _clean_name(fields.name)
    if not name:
        errors["name"] = _("Give the type a name.")
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = _("Use at most %(max)d characters.", max=MAX_NAME_LENGTH)
    elif clinical := find_clinical_detail(name):
        errors["name"] = _("Patients see this name: leave out clinical detail (%(terms)s).",
                           terms=", ".join(clinical))
    elif fields.active and _name_taken(practice_id, name, type_id):
        errors["name"] = _("Another active appointment type has this name.")
    name_es = _clean_name(fields.name_es)
    if len(name_es) > MAX_NAME_LENGTH:
        errors["name_es"] = _("Use at most %(max)d characters.", max=MAX_NAME_LENGTH)
    elif clinical := find_clinical_detail(name_es):
        errors["name_es"] = _("Patients see this name: leave out clinical detail (%(terms)s).",
                              terms=", ".join(clinical))
    duration = fields.duration_minutes
    if not MIN_DURATION <= duration <= MAX_DURATION or duration % DURATION_STEP:
        errors["duration_minutes"] = _(
            "Use %(min)d to %(max)d minutes, in steps of %(step)d.",
            min=MIN_DURATION, max=MAX_DURATION, step=DURATION_STEP)
    for name_, value in (("buffer_before_minutes", fields.buffer_before_minutes),
                         ("buffer_after_minutes", fields.buffer_after_minutes)):
        if not 0 <= value <= MAX_BUFFER:
            errors[name_] = _("Use 0 to %(max)d minutes.", max=MAX_BUFFER)
    if not errors.keys() & {"duration_minutes", "buffer_before_minutes", "buffer_after_minutes"}:
        total = timedelta(minutes=duration + fields.buffer_before_minutes
                          + fields.buffer_after_minutes)
        if total >= MAX_REACH:
            errors["duration_minutes"] = _(
                "With its buffers an appointment must take less than %(hours)d hours.",
                hours=MAX_REACH // timedelta(hours=1))
    if not MIN_DAYS_AHEAD <= fields.max_days_ahead <= MAX_DAYS_AHEAD:
        errors["max_days_ahead"] = _("Use %(min)d to %(max)d days.", min=MIN_DAYS_AHEAD,
                                     max=MAX_DAYS_AHEAD)
    if not 0 <= fields.min_notice_minutes <= MAX_NOTICE_MINUTES:
        errors["min_notice_minutes"] = _("Use 0 to %(max)d minutes.", max=MAX_NOTICE_MINUTES)
    elif ("max_days_ahead" not in errors
          and fields.min_notice_minutes >= fields.max_days_ahead * 24 * 60):
        errors["min_notice_minutes"] = _(
            "The notice must be shorter than how far ahead patients may book.")
    known = set(db.session.execute(select(Provider.id).where(
        Provider.practice_id == practice_id, Provider.id.in_(set(provider_ids)))).scalars())
    if set(provider_ids) - known:
        errors["provider_ids"] = _("Choose providers of this practice.")
    elif fields.active and fields.bookable_online and not provider_ids:
        errors["provider_ids"] = _("Tick at least one provider who offers it: patients "
                                   "cannot book online a visit nobody offers (or let it be "
                                   "booked by staff only).")
    if errors:
        raise AppointmentTypeInputError(errors)


def _name_taken(practice_id: int, name: str, type_id: int | None) -> bool:
    """Compared in Python, case-insensitively: SQLite's lower() ignores accents' case."""
    others = db.session.execute(select(AppointmentType.name).where(
        AppointmentType.practice_id == practice_id, AppointmentType.active.is_(True),
        AppointmentType.id != (type_id or 0))).scalars()
    return any(_clean_name(other).casefold() == name.casefold() for other in others)
