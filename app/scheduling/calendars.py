"""Provider calendars: weekly working hours, one-off exceptions, the appointment types each
provider offers. What the slot engine (``app.scheduling.slots``) reads.

Weekly hours are local wall-clock times at a location and may be dated: setting hours for a
period replaces whatever the provider had at that location during it and keeps the rest
(so "from June 1, these hours" leaves May alone). Exceptions are UTC instants. Every service
checks its input and raises ``CalendarInputError`` mapping each bad field to a reason (in the
page's language; English outside a request), then commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from app.core.clock import local_to_utc, utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.practice.models import Location, Provider, provider_location
from app.scheduling.models import (
    AppointmentType,
    Schedule,
    ScheduleException,
    WorkingHours,
    provider_appointment_type,
)
from app.scheduling.open_time import EXTRA_HOURS, TIME_OFF

MAX_LABEL_LENGTH = 120
MAX_EXTRA_HOURS = timedelta(hours=24)


class CalendarInputError(FieldErrors):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""


class ExceptionNotFound(LookupError):
    """No such exception on this provider's calendar."""


@dataclass(frozen=True)
class WeeklyInterval:
    """Working time on one weekday (0 = Monday), local to the location."""

    weekday: int
    start_time: time
    end_time: time


def set_weekly_hours(*, practice_id: int, provider_id: int, location_id: int,
                     intervals: Sequence[WeeklyInterval], valid_from: date | None = None,
                     valid_until: date | None = None) -> list[WorkingHours]:
    """Make ``intervals`` the provider's weekly hours at the location from ``valid_from`` to
    ``valid_until`` (open-ended when None); an empty list clears that period. Hours the
    provider has at another location may not overlap these."""
    errors: dict[str, str] = {}
    provider = _provider(practice_id, provider_id)
    location = db.session.get(Location, location_id)
    if location is None or location.practice_id != practice_id:
        raise CalendarInputError({"location_id": _("no such location")})
    if location not in provider.locations:
        errors["location_id"] = _("%(provider)s does not work at %(location)s",
                                  provider=provider.display_name, location=location.name)
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = _("the end date must be on or after the start date")
    errors.update(_check_intervals(intervals))
    if not errors:
        errors.update(_clashes_elsewhere(provider=provider, location=location,
                                         intervals=intervals, valid_from=valid_from,
                                         valid_until=valid_until))
    if errors:
        raise CalendarInputError(errors)
    _clear_period(provider_id=provider_id, location_id=location_id, valid_from=valid_from,
                  valid_until=valid_until)
    rows = [WorkingHours(practice_id=practice_id, provider_id=provider_id,
                         location_id=location_id,
                         weekday=interval.weekday, start_time=interval.start_time,
                         end_time=interval.end_time, valid_from=valid_from,
                         valid_until=valid_until)
            for interval in sorted(intervals, key=lambda i: (i.weekday, i.start_time))]
    db.session.add_all(rows)
    if rows:
        ensure_schedule(practice_id=practice_id, provider_id=provider_id,
                        location_id=location_id)
    db.session.commit()
    return rows


def ensure_schedule(*, practice_id: int, provider_id: int, location_id: int) -> Schedule:
    """The provider's calendar at the location (FHIR Schedule), created with its first hours.
    Does not commit."""
    schedule = find_schedule(practice_id=practice_id, location_id=location_id,
                             provider_id=provider_id)
    if schedule is None:
        schedule = Schedule(practice_id=practice_id, provider_id=provider_id,
                            location_id=location_id, active=True)
        db.session.add(schedule)
    return schedule


def find_schedule(*, practice_id: int, location_id: int, provider_id: int | None
                  ) -> Schedule | None:
    """The provider's calendar at the location, or the whole location's (``provider_id``
    None; the first, since a location may have several)."""
    provider = (Schedule.provider_id.is_(None) if provider_id is None
                else Schedule.provider_id == provider_id)
    return db.session.execute(select(Schedule).where(
        Schedule.practice_id == practice_id, Schedule.location_id == location_id, provider)
        .order_by(Schedule.id)).scalars().first()


def add_time_off(*, practice_id: int, provider_id: int, starts_at: datetime, ends_at: datetime,
                 location_id: int | None = None, label: str | None = None
                 ) -> ScheduleException:
    """Block the provider's time (a holiday, vacation, a meeting): at one location, or at
    every location when ``location_id`` is None. Booked appointments in it stay booked."""
    return _add_exception(kind=TIME_OFF, practice_id=practice_id, provider_id=provider_id,
                          starts_at=starts_at, ends_at=ends_at, location_id=location_id,
                          label=label)


def add_extra_hours(*, practice_id: int, provider_id: int, location_id: int,
                    starts_at: datetime, ends_at: datetime, label: str | None = None
                    ) -> ScheduleException:
    """Open time outside the weekly hours (a Saturday clinic), at most a day long."""
    return _add_exception(kind=EXTRA_HOURS, practice_id=practice_id, provider_id=provider_id,
                          starts_at=starts_at, ends_at=ends_at, location_id=location_id,
                          label=label)


def remove_exception(*, practice_id: int, provider_id: int, exception_id: int) -> None:
    provider = _provider(practice_id, provider_id)
    exception = db.session.get(ScheduleException, exception_id)
    if exception is None or exception.provider_id != provider.id:
        raise ExceptionNotFound(exception_id)
    db.session.delete(exception)
    db.session.commit()


def set_appointment_types(*, practice_id: int, provider_id: int,
                          appointment_type_ids: Sequence[int]) -> list[int]:
    """Make these the appointment types the provider offers; returns their ids, sorted."""
    _provider(practice_id, provider_id)
    wanted = sorted(set(appointment_type_ids))
    known = set(db.session.execute(
        select(AppointmentType.id).where(AppointmentType.id.in_(wanted),
                                         AppointmentType.practice_id == practice_id)
    ).scalars())
    unknown = [str(type_id) for type_id in wanted if type_id not in known]
    if unknown:
        raise CalendarInputError(
            {"appointment_type_ids": _("no such appointment type: %(ids)s",
                                       ids=", ".join(unknown))})
    table = provider_appointment_type
    db.session.execute(delete(table).where(table.c.provider_id == provider_id))
    if wanted:
        db.session.execute(insert(table), [{"provider_id": provider_id,
                                            "appointment_type_id": type_id}
                                           for type_id in wanted])
    db.session.commit()
    return wanted


def _provider(practice_id: int, provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None or provider.practice_id != practice_id:
        raise CalendarInputError({"provider_id": _("no such provider")})
    return provider


def _check_intervals(intervals: Sequence[WeeklyInterval]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for index, interval in enumerate(intervals):
        name = f"intervals[{index}]"
        if not isinstance(interval.weekday, int) or not 0 <= interval.weekday <= 6:
            errors[f"{name}.weekday"] = _("must be 0 (%(monday)s) to 6 (%(sunday)s)",
                                          monday=_day_name(0), sunday=_day_name(6))
            continue
        if interval.end_time <= interval.start_time:
            errors[f"{name}.end_time"] = _("must be after the start time")
            continue
        for other in intervals[:index]:
            if (other.weekday == interval.weekday and other.start_time < interval.end_time
                    and interval.start_time < other.end_time):
                errors[name] = _("overlaps %(start)s-%(end)s on the same day",
                                 start=f"{other.start_time:%H:%M}",
                                 end=f"{other.end_time:%H:%M}")
                break
    return errors


def _periods_overlap(first: tuple[date | None, date | None],
                     second: tuple[date | None, date | None]) -> bool:
    return ((first[0] is None or second[1] is None or first[0] <= second[1])
            and (second[0] is None or first[1] is None or second[0] <= first[1]))


def _clashes_elsewhere(*, provider: Provider, location: Location,
                       intervals: Sequence[WeeklyInterval], valid_from: date | None,
                       valid_until: date | None) -> dict[str, str]:
    """Intervals that overlap the provider's hours at another location in the same period.
    Locations may be in different zones, so both sides are compared in UTC on a day of
    that weekday in the period."""
    others = db.session.execute(
        select(WorkingHours, Location.name, Location.timezone)
        .join(Location, Location.id == WorkingHours.location_id)
        .where(WorkingHours.provider_id == provider.id, WorkingHours.location_id != location.id)
    ).all()
    errors: dict[str, str] = {}
    zone = ZoneInfo(location.timezone)
    for index, interval in enumerate(intervals):
        day = _sample_day(interval.weekday, valid_from)
        start, end = _utc_span(day, interval.start_time, interval.end_time, zone)
        for row, other_name, other_zone in others:
            if row.weekday != interval.weekday or not _periods_overlap(
                    (valid_from, valid_until), (row.valid_from, row.valid_until)):
                continue
            other_start, other_end = _utc_span(day, row.start_time, row.end_time,
                                               ZoneInfo(other_zone))
            if other_start < end and start < other_end:
                errors[f"intervals[{index}]"] = _(
                    "overlaps %(day)s %(start)s-%(end)s at %(location)s",
                    day=_day_name(row.weekday), start=f"{row.start_time:%H:%M}",
                    end=f"{row.end_time:%H:%M}", location=other_name)
                break
    return errors


def _day_name(weekday: int) -> str:
    """The weekday's name (0 = Monday) in the page's language."""
    return get_day_names("wide", locale=str(get_locale() or "en"))[weekday]


def _sample_day(weekday: int, valid_from: date | None) -> date:
    first = valid_from or utcnow().date()
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def _utc_span(day: date, start: time, end: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return local_to_utc(day, start, zone), local_to_utc(day, end, zone)


def _clear_period(*, provider_id: int, location_id: int, valid_from: date | None,
                  valid_until: date | None) -> None:
    """Remove the provider's hours at the location during the period, keeping the parts of
    longer-dated rows that fall before or after it."""
    rows = db.session.execute(select(WorkingHours).where(
        WorkingHours.provider_id == provider_id, WorkingHours.location_id == location_id)
    ).scalars().all()
    for row in rows:
        if not _periods_overlap((valid_from, valid_until), (row.valid_from, row.valid_until)):
            continue
        if valid_from is not None and (row.valid_from is None or row.valid_from < valid_from):
            db.session.add(_dated_copy(row, row.valid_from, valid_from - timedelta(days=1)))
        if valid_until is not None and (row.valid_until is None or row.valid_until > valid_until):
            db.session.add(_dated_copy(row, valid_until + timedelta(days=1), row.valid_until))
        db.session.delete(row)
    db.session.flush()


def _dated_copy(row: WorkingHours, valid_from: date | None, valid_until: date | None
                ) -> WorkingHours:
    return WorkingHours(practice_id=row.practice_id, provider_id=row.provider_id,
                        location_id=row.location_id,
                        weekday=row.weekday, start_time=row.start_time, end_time=row.end_time,
                        valid_from=valid_from, valid_until=valid_until)


def _add_exception(*, kind: str, practice_id: int, provider_id: int, starts_at: datetime,
                   ends_at: datetime, location_id: int | None, label: str | None
                   ) -> ScheduleException:
    provider = _provider(practice_id, provider_id)
    errors: dict[str, str] = {}
    label = _check_exception(errors, kind=kind, starts_at=starts_at, ends_at=ends_at,
                             label=label)
    if location_id is None and kind == EXTRA_HOURS:
        errors["location_id"] = _("extra hours need a location")
    elif location_id is not None:
        works_there = db.session.execute(select(provider_location.c.location_id).where(
            provider_location.c.provider_id == provider.id,
            provider_location.c.location_id == location_id)).first()
        if works_there is None:
            errors["location_id"] = _("%(provider)s does not work at that location",
                                      provider=provider.display_name)
    if errors:
        raise CalendarInputError(errors)
    exception = ScheduleException(practice_id=provider.practice_id, provider_id=provider.id,
                                  location_id=location_id, kind=kind, starts_at=starts_at,
                                  ends_at=ends_at, label=label)
    db.session.add(exception)
    db.session.commit()
    return exception


def update_exception(*, exception: ScheduleException, starts_at: datetime, ends_at: datetime,
                     label: str | None) -> list[str]:
    """Move or relabel time off or extra hours, under the rules that hold when adding one;
    return the names of the fields that changed. Flushes; the caller commits (with its audit
    event)."""
    errors: dict[str, str] = {}
    label = _check_exception(errors, kind=exception.kind, starts_at=starts_at,
                             ends_at=ends_at, label=label)
    if errors:
        raise CalendarInputError(errors)
    wanted = {"starts_at": starts_at, "ends_at": ends_at, "label": label}
    changes = [name for name, value in wanted.items() if getattr(exception, name) != value]
    for name in changes:
        setattr(exception, name, wanted[name])
    db.session.flush()
    return changes


def _check_exception(errors: dict[str, str], *, kind: str, starts_at: datetime,
                     ends_at: datetime, label: str | None) -> str | None:
    """Add what is wrong with an exception's times and label to ``errors``; return the label
    with its whitespace tidied."""
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            errors[name] = _("must carry a time zone")
    if not errors and ends_at <= starts_at:
        errors["ends_at"] = _("must be after the start")
    elif not errors and kind == EXTRA_HOURS and ends_at - starts_at > MAX_EXTRA_HOURS:
        errors["ends_at"] = _("extra hours may last at most a day")
    label = " ".join(label.split()) if label else None
    if label and len(label) > MAX_LABEL_LENGTH:
        errors["label"] = _("must be at most %(max)d characters", max=MAX_LABEL_LENGTH)
    return label
