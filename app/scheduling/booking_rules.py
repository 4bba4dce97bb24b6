"""The booking service's rules: its errors, which status may follow which, and the input
checks, each adding a readable reason per bad field to an ``errors`` dict so that one pass
reports every problem. Reasons and messages are in the page's language (English outside a
request)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.errors import FieldErrors
from app.extensions import db
from app.practice.models import Location, Provider
from app.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ParticipantStatus,
    provider_appointment_type,
)
from app.scheduling.slots import Slot
from app.security.models import StaffUser
from app.web.ui import local_when

SOURCES = ("staff", "patient", "fhir", "ehr", "system")  # system: a scheduled job
MAX_TEXT_LENGTH = 1000
S = AppointmentStatus
INITIAL_STATUSES = (S.PROPOSED, S.PENDING, S.BOOKED)
MOVABLE_STATUSES = (S.PROPOSED, S.PENDING, S.BOOKED)
FINAL_STATUSES = (S.FULFILLED, S.CANCELLED, S.ENTERED_IN_ERROR)
# Which status may follow which. Leaving a final status (only ever to entered-in-error) is for
# staff; patients never mark an appointment entered-in-error.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.PENDING, S.BOOKED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.PENDING: frozenset({S.BOOKED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.BOOKED: frozenset({S.ARRIVED, S.CHECKED_IN, S.NOSHOW, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.ARRIVED: frozenset({S.CHECKED_IN, S.FULFILLED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.CHECKED_IN: frozenset({S.FULFILLED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.NOSHOW: frozenset({S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.FULFILLED: frozenset({S.ENTERED_IN_ERROR}),
    S.CANCELLED: frozenset({S.ENTERED_IN_ERROR}),
    S.ENTERED_IN_ERROR: frozenset(),
}
RESPONSES = (ParticipantStatus.ACCEPTED, ParticipantStatus.DECLINED, ParticipantStatus.TENTATIVE)


class BookingError(Exception):
    """A booking request that cannot be carried out; the message is fit to show."""


class BookingInputError(BookingError, FieldErrors):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""


class AppointmentNotFound(BookingInputError, LookupError):
    def __init__(self, appointment_id: int) -> None:
        super().__init__({"appointment_id": _("no such appointment %(id)d", id=appointment_id)})


class SlotTaken(BookingError):
    """The time cannot be had any more; ``next_slots`` are the next open ones to offer."""

    def __init__(self, next_slots: list[Slot]) -> None:
        super().__init__(_("That time was just taken"))
        self.next_slots = next_slots


class OutsideHours(SlotTaken):
    """Not a lost race: the provider does not work at that time (there)."""

    def __init__(self, next_slots: list[Slot]) -> None:
        super().__init__(next_slots)
        self.args = (_("That time is outside working hours"),)


class InvalidTransition(BookingError):
    def __init__(self, from_status: str, to_status: str, why: str | None = None) -> None:
        message = _("An appointment cannot go from %(old)s to %(new)s", old=from_status,
                    new=to_status)
        super().__init__(f"{message}: {why}" if why else message)
        self.from_status = from_status
        self.to_status = to_status


class ScheduleBusy(BookingError):
    """The database stayed locked (SQLite) through every retry."""

    def __init__(self) -> None:
        super().__init__(_("The schedule is busy; please try again"))


def check_transition(old: str, new: str, *, source: str) -> None:
    if new not in TRANSITIONS.get(old, frozenset()):
        raise InvalidTransition(old, new)
    if old in FINAL_STATUSES and source != "staff":
        raise InvalidTransition(old, new, _("only staff can change a %(status)s appointment",
                                            status=old))
    if new == S.ENTERED_IN_ERROR and source == "patient":
        raise InvalidTransition(old, new,
                                _("patients cannot mark an appointment entered-in-error"))


CHECK_IN_STATUSES = (S.ARRIVED, S.CHECKED_IN)


def too_early_or_late(appointment: Appointment, status: str, *, now: datetime) -> str | None:
    """Why the desk cannot mark ``appointment`` ``status`` now (None: it can). Check-in
    (arrived, checked in) only on the visit's own day in its location's zone; check-out
    (fulfilled) and no-show only once the visit's start has come."""
    starts = appointment.start_at.astimezone(ZoneInfo(appointment.location.timezone))
    if status in CHECK_IN_STATUSES and starts.date() != now.astimezone(starts.tzinfo).date():
        return _("a patient can be checked in only on the day of the visit (%(when)s)",
                 when=local_when(starts))
    if status in (S.FULFILLED, S.NOSHOW) and now < appointment.start_at:
        return _("not before the visit's start (%(when)s)", when=local_when(starts))
    return None


def check_slot(errors: dict[str, str], slot: Slot, *, practice_id: int, source: str,
               now: datetime) -> AppointmentType | None:
    """Add an error for each thing wrong with ``slot``; return its appointment type (None
    only with an error on ``appointment_type_id``)."""
    kind = db.session.get(AppointmentType, slot.appointment_type_id)
    provider = db.session.get(Provider, slot.provider_id)
    location = db.session.get(Location, slot.location_id)
    if kind is None or kind.practice_id != practice_id:
        errors["appointment_type_id"] = _("no such appointment type")
    elif not kind.active:
        errors["appointment_type_id"] = _("%(type)s is no longer offered", type=kind.name)
    elif source == "patient" and not kind.bookable_online:
        errors["appointment_type_id"] = _("%(type)s cannot be booked online", type=kind.name)
    if provider is None or provider.practice_id != practice_id:
        errors["provider_id"] = _("no such provider")
    elif not provider.active:
        errors["provider_id"] = _("%(provider)s is not taking appointments",
                                  provider=provider.display_name)
    if location is None or location.practice_id != practice_id:
        errors["location_id"] = _("no such location")
    elif provider is not None and "provider_id" not in errors \
            and location not in provider.locations:
        errors["location_id"] = _("%(provider)s does not work at %(location)s",
                                  provider=provider.display_name, location=location.name)
    if kind is not None and "appointment_type_id" not in errors \
            and "provider_id" not in errors and not _offers(slot.provider_id, kind.id):
        errors["appointment_type_id"] = _("%(provider)s does not offer %(type)s",
                                          provider=provider.display_name, type=kind.name)
    naive = [name for name, value in (("start", slot.start), ("end", slot.end))
             if value.tzinfo is None or value.utcoffset() is None]
    if naive:
        errors.update(dict.fromkeys(naive, _("must carry a time zone")))
        return kind
    if kind is not None and slot.end - slot.start != timedelta(minutes=kind.duration_minutes):
        errors["end"] = _("must be %(minutes)d minutes after the start (%(type)s)",
                          minutes=kind.duration_minutes, type=kind.name)
    if slot.start < now:
        errors["start"] = _("is in the past")
    return kind


def _offers(provider_id: int, appointment_type_id: int) -> bool:
    table = provider_appointment_type
    return db.session.execute(select(table.c.provider_id).where(
        table.c.provider_id == provider_id,
        table.c.appointment_type_id == appointment_type_id)).first() is not None


def check_actor(errors: dict[str, str], *, source: str, staff_id: int | None,
                practice_id: int) -> StaffUser | None:
    """Check ``source`` and ``staff_id`` (required for staff, only for staff)."""
    if source not in SOURCES:
        errors["source"] = _("must be one of %(choices)s", choices=", ".join(SOURCES))
    elif source == "staff" and staff_id is None:
        errors["staff_id"] = _("required when staff make the change")
    elif source != "staff" and staff_id is not None:
        errors["staff_id"] = _("only for changes made by staff")
    if staff_id is None or "staff_id" in errors:
        return None
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or staff.practice_id != practice_id or not staff.active:
        errors["staff_id"] = _("no such staff member")
        return None
    return staff


def clean_text(errors: dict[str, str], name: str, value: str | None) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > MAX_TEXT_LENGTH:
        errors[name] = _("must be at most %(max)d characters", max=MAX_TEXT_LENGTH)
    return cleaned or None
