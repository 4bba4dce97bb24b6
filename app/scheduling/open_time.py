"""Open time for the slot engine: the weekly working hours at a location (local wall-clock
times turned into UTC day by day, so a 09:00 start stays 09:00 across a DST change), plus
extra-hours exceptions at the location, minus time off (for this location or every location),
of the providers who offer the types asked, and who offers which type.

``load_calendar`` reads it in two queries for any number of types: the eligible providers
(active, working at the location, offering a type) with their hours, then their exceptions.
A caller that already holds the exceptions around the days asked (``exception_reach``; the
FHIR Slot search reads a calendar's with it) passes them, and the second query is not run.
What is booked in that time is ``slots``' part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from app.extensions import db
from app.practice.models import Provider, provider_location
from app.scheduling.intervals import Interval, merge, midnight, subtract, to_utc
from app.scheduling.models import ScheduleException, WorkingHours, provider_appointment_type

TIME_OFF, EXTRA_HOURS = "time_off", "extra_hours"
# An appointment plus its buffers spans less than this: it bounds the range of the
# (provider_id, start_at) index read for the appointments that can touch a day.
MAX_REACH = timedelta(hours=12)
# Wider than the exceptions read for any local day of a range can lie outside the range:
# a day and its neighbours (up to a day each side of a UTC instant) and MAX_REACH.
_EXCEPTION_MARGIN = timedelta(days=3)


@dataclass
class Calendar:
    """The eligible providers' weekly hours and exceptions, for the whole range asked, once
    per provider whatever the number of types; ``offers`` says who may take which type."""

    zone: ZoneInfo
    # provider -> weekday -> (start, end, valid_from, valid_until)
    weekly: dict[int, dict[int, list[tuple[time, time, date | None, date | None]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    extra: dict[int, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    time_off: dict[int, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    offers: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @property
    def providers(self) -> set[int]:
        return set(self.weekly) | set(self.extra)

    def open_time(self, days: list[date], window: Interval) -> dict[int, list[Interval]]:
        """Per provider, the merged open intervals that overlap ``window`` (the local days
        ``days``). Hours of the neighbouring days count too, in case an extra-hours interval
        joins them across midnight."""
        around = [days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)]
        result: dict[int, list[Interval]] = {}
        for provider_id in self.providers:
            intervals = list(self.extra.get(provider_id, ()))
            weekly = self.weekly.get(provider_id, {})
            for day in around:
                for start, end, valid_from, valid_until in weekly.get(day.weekday(), ()):
                    if in_force(day, valid_from, valid_until):
                        begins, ends = to_utc(day, start, self.zone), to_utc(day, end, self.zone)
                        if begins < ends:
                            intervals.append((begins, ends))
            near = [(s, e) for s, e in merge(intervals) if e > window[0] and s < window[1]]
            near = subtract(near, merge(self.time_off.get(provider_id, [])))
            if near:
                result[provider_id] = near
        return result


def in_force(day: date, valid_from: date | None, valid_until: date | None) -> bool:
    """Whether weekly hours valid from ``valid_from`` to ``valid_until`` (open-ended when
    None) apply on ``day``."""
    return (valid_from is None or valid_from <= day) and (valid_until is None or day <= valid_until)


def exception_reach(start: datetime, end: datetime) -> Interval:
    """A UTC window holding every exception ``load_calendar`` reads for local days within
    [start, end): exceptions overlapping it are enough to pass as ``exceptions``."""
    return start - _EXCEPTION_MARGIN, end + _EXCEPTION_MARGIN


def load_calendar(*, location_id: int, zone: ZoneInfo, type_ids: Sequence[int],
                  provider_id: int | None, first_day: date, last_day: date,
                  exceptions: Sequence[Any] | None = None) -> Calendar:
    """The hours and exceptions of the providers who offer any of ``type_ids`` at the
    location (or ``provider_id`` alone) for the local days ``first_day`` to ``last_day``.
    ``exceptions``: every exception of those providers overlapping ``exception_reach`` of the
    days (rows or ``ScheduleException``s, of any location), read by the caller."""
    offer = provider_appointment_type.c
    before, after = first_day - timedelta(days=1), last_day + timedelta(days=1)
    query = (
        select(offer.appointment_type_id, offer.provider_id, WorkingHours.id,
               WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time,
               WorkingHours.valid_from, WorkingHours.valid_until)
        .select_from(provider_appointment_type)
        .join(Provider, Provider.id == offer.provider_id)
        .join(provider_location, and_(provider_location.c.provider_id == offer.provider_id,
                                      provider_location.c.location_id == location_id))
        .outerjoin(WorkingHours, and_(
            WorkingHours.provider_id == offer.provider_id,
            WorkingHours.location_id == location_id,
            or_(WorkingHours.valid_from.is_(None), WorkingHours.valid_from <= after),
            or_(WorkingHours.valid_until.is_(None), WorkingHours.valid_until >= before)))
        .where(offer.appointment_type_id.in_(type_ids), Provider.active.is_(True)))
    if provider_id is not None:
        query = query.where(offer.provider_id == provider_id)
    calendar = _Building(Calendar(zone=zone))
    for row in db.session.execute(query):  # a provider's hours come once per type offered
        calendar.offer(row.appointment_type_id, row.provider_id)
        if row.id is not None:
            calendar.add_hours(row)
    providers = {p for eligible in calendar.built.offers.values() for p in eligible}
    span = (midnight(before, zone) - MAX_REACH, midnight(after + timedelta(days=1), zone)
            + MAX_REACH)
    if exceptions is not None:
        for row in exceptions:
            if row.provider_id in providers and _applies(row, location_id, span):
                calendar.add_exception(row)
    elif providers:
        for row in db.session.execute(
                select(ScheduleException.id, ScheduleException.provider_id,
                       ScheduleException.kind, ScheduleException.starts_at,
                       ScheduleException.ends_at)
                .where(ScheduleException.provider_id.in_(sorted(providers)),
                       ScheduleException.starts_at < span[1], ScheduleException.ends_at > span[0],
                       or_(and_(ScheduleException.kind == TIME_OFF,
                                or_(ScheduleException.location_id.is_(None),
                                    ScheduleException.location_id == location_id)),
                           and_(ScheduleException.kind == EXTRA_HOURS,
                                ScheduleException.location_id == location_id)))):
            calendar.add_exception(row)
    return calendar.built


def _applies(row: Any, location_id: int, span: Interval) -> bool:
    """The exceptions query's condition, for an exception the caller read."""
    if not (row.starts_at < span[1] and row.ends_at > span[0]):
        return False
    if row.kind == TIME_OFF:
        return row.location_id is None or row.location_id == location_id
    return row.kind == EXTRA_HOURS and row.location_id == location_id


@dataclass
class _Building:
    """A calendar being filled from rows, each hours or exception row once."""

    built: Calendar
    seen: set[tuple[str, int]] = field(default_factory=set)

    def offer(self, type_id: int, provider_id: int) -> None:
        self.built.offers[type_id].add(provider_id)

    def add_hours(self, row: Any) -> None:
        if ("hours", row.id) not in self.seen:
            self.seen.add(("hours", row.id))
            self.built.weekly[row.provider_id][row.weekday].append(
                (row.start_time, row.end_time, row.valid_from, row.valid_until))

    def add_exception(self, row: Any) -> None:
        if ("exception", row.id) not in self.seen:
            self.seen.add(("exception", row.id))
            target = self.built.extra if row.kind == EXTRA_HOURS else self.built.time_off
            target[row.provider_id].append((row.starts_at, row.ends_at))
