"""Read side of the calendar settings screens: the practice's providers, and one provider's
weekly hours per location, upcoming exceptions and offered types, in local time.

Exceptions are shown in their location's zone; time off at every location in the practice's
zone, which is also the zone such time off is entered in (``exception_zone``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.extensions import db
from app.practice.models import Location, Practice, Provider
from app.scheduling.models import (
    AppointmentType,
    ScheduleException,
    WorkingHours,
    provider_appointment_type,
)
from app.scheduling.open_time import in_force


class ProviderNotFound(LookupError):
    """No such provider in this practice."""


@dataclass(frozen=True)
class LocationHours:
    location: Location
    rows: list[WorkingHours]  # by period, weekday, start


@dataclass(frozen=True)
class ExceptionRow:
    exception: ScheduleException
    location: Location | None  # None: every location
    starts: datetime  # in the zone it was entered in
    ends: datetime


@dataclass(frozen=True)
class ProviderCalendar:
    provider: Provider
    hours: list[LocationHours]
    exceptions: list[ExceptionRow]
    appointment_types: list[AppointmentType]
    practice_zone: ZoneInfo


def providers(*, practice_id: int) -> list[Provider]:
    """The practice's providers, active first, by family name; their locations loaded."""
    return list(db.session.execute(
        select(Provider).options(selectinload(Provider.locations))
        .where(Provider.practice_id == practice_id)
        .order_by(Provider.active.desc(), Provider.family_name, Provider.given_name, Provider.id)
    ).scalars())


def provider_calendar(*, practice_id: int, provider_id: int, now: datetime | None = None
                      ) -> ProviderCalendar:
    """The provider's weekly hours at each of their locations, exceptions that have not
    ended, and the types they offer."""
    provider = _provider(practice_id, provider_id)
    practice = db.session.get(Practice, practice_id)
    assert practice is not None  # the provider belongs to it
    practice_zone = ZoneInfo(practice.timezone)
    rows = db.session.execute(select(WorkingHours).where(
        WorkingHours.provider_id == provider.id)).scalars().all()
    locations = sorted(provider.locations, key=lambda loc: (loc.name, loc.id))
    hours = [LocationHours(location, sorted(
        (row for row in rows if row.location_id == location.id),
        key=lambda row: (row.valid_from or date.min, row.weekday, row.start_time)))
        for location in locations]
    by_id = {location.id: location for location in locations}
    exceptions = []
    for exception in db.session.execute(select(ScheduleException).where(
            ScheduleException.provider_id == provider.id,
            ScheduleException.ends_at > (now or utcnow()))
            .order_by(ScheduleException.starts_at, ScheduleException.id)).scalars():
        location = by_id.get(exception.location_id) if exception.location_id else None
        if exception.location_id and location is None:
            location = db.session.get(Location, exception.location_id)
        zone = exception_zone(location, practice_zone)
        exceptions.append(ExceptionRow(exception, location, exception.starts_at.astimezone(zone),
                                       exception.ends_at.astimezone(zone)))
    offered = list(db.session.execute(
        select(AppointmentType)
        .join(provider_appointment_type,
              provider_appointment_type.c.appointment_type_id == AppointmentType.id)
        .where(provider_appointment_type.c.provider_id == provider.id)
        .order_by(AppointmentType.active.desc(), AppointmentType.name)).scalars())
    return ProviderCalendar(provider=provider, hours=hours, exceptions=exceptions,
                            appointment_types=offered, practice_zone=practice_zone)


def hours_on(*, provider_id: int, location_id: int, day: date
             ) -> dict[int, list[tuple[time, time]]]:
    """The provider's weekly intervals at the location in force on ``day``, per weekday."""
    week: dict[int, list[tuple[time, time]]] = {}
    for row in db.session.execute(select(WorkingHours).where(
            WorkingHours.provider_id == provider_id, WorkingHours.location_id == location_id)
            .order_by(WorkingHours.weekday, WorkingHours.start_time)).scalars():
        if in_force(day, row.valid_from, row.valid_until):
            week.setdefault(row.weekday, []).append((row.start_time, row.end_time))
    return week


def shown_period(*, provider_id: int, location_id: int, day: date
                 ) -> tuple[date | None, date | None]:
    """The stretch of days around ``day`` over which the provider's hours at the location
    stay as on ``day`` (None: open-ended): what the weekly form edits by default, so saving
    it leaves earlier and later dated hours alone."""
    start: date | None = None
    end: date | None = None
    for row in _rows(provider_id, location_id):
        for begins in (row.valid_from,
                       row.valid_until + timedelta(days=1) if row.valid_until else None):
            if begins is None:
                continue
            if begins <= day:
                start = begins if start is None else max(start, begins)
            else:
                end = begins - timedelta(days=1) if end is None else min(
                    end, begins - timedelta(days=1))
    return start, end


def later_hours_replaced(*, provider_id: int, location_id: int, valid_from: date | None,
                         valid_until: date | None, today: date) -> list[WorkingHours]:
    """Hours at the location dated to begin after both ``today`` and ``valid_from`` yet within
    the period: setting weekly hours for the period would replace them, though the form did
    not show them."""
    after = max(valid_from, today) if valid_from else today
    return [row for row in _rows(provider_id, location_id)
            if row.valid_from is not None and row.valid_from > after
            and (valid_until is None or row.valid_from <= valid_until)]


def _rows(provider_id: int, location_id: int) -> list[WorkingHours]:
    return list(db.session.execute(select(WorkingHours).where(
        WorkingHours.provider_id == provider_id, WorkingHours.location_id == location_id)
        .order_by(WorkingHours.valid_from, WorkingHours.weekday, WorkingHours.start_time)
    ).scalars())


def exception_zone(location: Location | None, practice_zone: ZoneInfo) -> ZoneInfo:
    """The zone an exception's local times mean: its location's, or the practice's for time
    off at every location."""
    return ZoneInfo(location.timezone) if location is not None else practice_zone


def _provider(practice_id: int, provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None or provider.practice_id != practice_id:
        raise ProviderNotFound(provider_id)
    return provider
