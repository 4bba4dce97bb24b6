"""What a patient may pick online (``/book``): the types bookable online that some active
provider offers, where and with whom, and the open times in the days shown."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.practice.models import Location, Provider
from app.scheduling import slots
from app.scheduling.models import AppointmentType
from app.scheduling.slots import Slot

DAYS_SHOWN = 14


def bookable_types(*, practice_id: int) -> list[AppointmentType]:
    """Active types bookable online that an active provider offers somewhere: a type nobody
    offers would only lead a patient to an empty page."""
    return [kind for kind in db.session.execute(
        select(AppointmentType).where(AppointmentType.practice_id == practice_id,
                                      AppointmentType.active, AppointmentType.bookable_online)
        .order_by(AppointmentType.name)).scalars() if locations_for(kind)]


def types_for(*, practice_id: int, new_patients: bool) -> list[AppointmentType]:
    """The bookable types for new patients, or for those we know."""
    return [kind for kind in bookable_types(practice_id=practice_id)
            if kind.for_new_patients == new_patients]


def bookable_type(*, practice_id: int, type_id: int) -> AppointmentType | None:
    return next((kind for kind in bookable_types(practice_id=practice_id)
                 if kind.id == type_id), None)


def locations_for(kind: AppointmentType) -> list[Location]:
    """Locations where some active provider offers the type."""
    found = {location.id: location for provider in kind.providers if provider.active
             for location in provider.locations}
    return sorted(found.values(), key=lambda location: location.name)


def providers_for(kind: AppointmentType, location: Location) -> list[Provider]:
    return sorted((p for p in kind.providers if p.active and location in p.locations),
                  key=lambda p: (p.family_name, p.given_name))


def open_slots(*, kind: AppointmentType, location: Location, provider_id: int | None,
               now: datetime | None = None) -> list[Slot]:
    """Open slots in the next ``DAYS_SHOWN`` days under the patient rules (minimum notice,
    days ahead), at most one per start time: "first available" takes any provider's."""
    now = now or utcnow()
    found = slots.find_open_slots(appointment_type_id=kind.id, location_id=location.id,
                                  provider_id=provider_id, start=now,
                                  end=now + timedelta(days=DAYS_SHOWN), now=now)
    unique: dict[datetime, Slot] = {}
    for slot in found:
        unique.setdefault(slot.start, slot)
    return list(unique.values())


def online_days(kind: AppointmentType, location: Location,
                now: datetime | None = None) -> tuple[date, date]:
    """The first and last local day at ``location`` a patient may pick online for ``kind``:
    today, to the end of the days shown (or of the type's days ahead, when fewer)."""
    now = now or utcnow()
    zone = ZoneInfo(location.timezone)
    ahead = timedelta(days=min(DAYS_SHOWN, kind.max_days_ahead))
    return now.astimezone(zone).date(), (now + ahead).astimezone(zone).date()


def days_with_slots(found: list[Slot], zone: ZoneInfo) -> dict[date, list[Slot]]:
    days: dict[date, list[Slot]] = {}
    for slot in found:
        days.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    return days


def closed_on(kind: AppointmentType, location: Location, provider_id: int | None,
              day: date) -> bool:
    """Whether nobody offering the type (or ``provider_id``) works at the location that day
    at all: the page says closed, not full."""
    return not slots.has_hours_on(appointment_type_id=kind.id, location_id=location.id,
                                  provider_id=provider_id, day=day)


def unbookable_day(chosen: date | None, found: dict[date, list[Slot]],
                   first: date) -> tuple[str, list[date]]:
    """Why a day cannot be booked online (unreadable, before today, past the days shown) and
    the open days nearest to it."""
    near = sorted(sorted(found, key=lambda day: abs((day - (chosen or first)).days))[:3])
    return ("unreadable" if chosen is None else "past" if chosen < first else "ahead"), near
