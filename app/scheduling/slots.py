"""The slot engine: when an appointment of a given type can be booked at a location.

Open time, per provider = weekly working hours at the location + extra-hours exceptions at
the location − time-off exceptions (``app.scheduling.open_time``) − the provider's
appointments that hold time, at ANY location, each widened by its type's buffers.

A slot is [start, start + duration). Its own buffers are provider time too (setting up,
cleaning up), so the buffered span [start − buffer_before, end + buffer_after] must lie inside
open time: within working hours, and clear of every other appointment and its buffers. Slot
starts lie on a grid of ``step_minutes`` counted from local midnight (09:00, 09:15, ...). A
local time that does not exist (the spring-forward gap) moves forward by the gap, as a wall
clock does; a local time that happens twice (fall back) means its first occurrence.

The work is set-based: one query for the type and location, one for the eligible providers
and their weekly hours, one for their exceptions, then one per chunk of local days for the
held appointments (the needed columns only, no ORM objects). With a ``limit`` the chunks
start at one day and double, so "the first 20" stops after the first days that have them.
``open_slots_by_type`` answers every type a calendar offers (the FHIR Slot search) from the
type and location rows the caller holds and the same three other queries (two when the caller
holds the exceptions), whatever the number of types: open time, held time and what is left
are computed once, and each type fits its own slots (duration, buffers, notice, horizon) in
what is left. Interval arithmetic lives in ``app.scheduling.intervals``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.practice.models import Location
from app.scheduling.intervals import Interval, align, chunks, merge, midnight, subtract
from app.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from app.scheduling.open_time import MAX_REACH, Calendar, load_calendar

STEP_MINUTES = 15
# Statuses whose time stays taken. A no-show's time has passed; cancelled and entered-in-error
# appointments never held it.
HOLDING_STATUSES = (AppointmentStatus.PROPOSED, AppointmentStatus.PENDING,
                    AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED,
                    AppointmentStatus.CHECKED_IN, AppointmentStatus.FULFILLED)


class InvalidSlotQuery(ValueError):
    """A bad argument; ``field`` names it, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC, aware
    end: datetime  # UTC: start + duration (buffers are not part of the slot)
    provider_id: int
    location_id: int
    appointment_type_id: int


@dataclass(frozen=True)
class _Rules:
    """What the appointment type and the location say about every slot."""

    type_id: int
    location_id: int
    duration: timedelta
    before: timedelta
    after: timedelta
    notice: timedelta
    days_ahead: timedelta
    active: bool
    zone: ZoneInfo


def find_open_slots(*, appointment_type_id: int, location_id: int,
                    provider_id: int | None = None, start: datetime, end: datetime,
                    limit: int | None = None, now: datetime | None = None,
                    exclude_appointment_id: int | None = None,
                    step_minutes: int = STEP_MINUTES) -> list[Slot]:
    """Open slots starting in [start, end), ordered by start then provider.

    ``provider_id=None`` means any active provider who offers the type and works at the
    location. ``exclude_appointment_id`` ignores one appointment (to reschedule it). Slots
    start at least ``min_notice_minutes`` after ``now`` and less than ``max_days_ahead`` days
    after it. Whether the type may be booked online is the caller's rule, not the engine's."""
    return _find(_rules([appointment_type_id], location_id=location_id),
                 provider_id=provider_id, start=start, end=end, limit=limit, now=now,
                 step_minutes=step_minutes,
                 exclude_appointment_id=exclude_appointment_id)[appointment_type_id]


def open_slots_by_type(*, appointment_types: Sequence[AppointmentType], location: Location,
                       provider_id: int | None = None, start: datetime, end: datetime,
                       now: datetime | None = None, exceptions: Sequence[Any] | None = None
                       ) -> dict[int, list[Slot]]:
    """``find_open_slots`` for several types (rows already loaded, of the location's practice)
    at one location in one pass: per type id the same slots, from three queries whatever the
    number of types. ``exceptions``: when the caller holds them, the exceptions of
    ``provider_id`` overlapping ``open_time.exception_reach(start, end)`` (of any location),
    so that query is not run again."""
    kinds = list({kind.id: kind for kind in appointment_types}.values())
    if any(kind.practice_id != location.practice_id for kind in kinds):
        raise InvalidSlotQuery("location_id", "belongs to another practice")
    return _find([_rules_of(kind, location.id, location.timezone) for kind in kinds],
                 provider_id=provider_id, start=start, end=end, limit=None, now=now,
                 step_minutes=STEP_MINUTES, exclude_appointment_id=None,
                 exceptions=exceptions if provider_id is not None else None)


def _find(rules: list[_Rules], *, provider_id: int | None, start: datetime, end: datetime,
          limit: int | None, now: datetime | None, step_minutes: int,
          exclude_appointment_id: int | None, exceptions: Sequence[Any] | None = None
          ) -> dict[int, list[Slot]]:
    start, end, now = _check_times(start=start, end=end, now=now)
    if limit is not None and limit < 1:
        raise InvalidSlotQuery("limit", "must be at least 1")
    if step_minutes < 1 or 60 % step_minutes:
        raise InvalidSlotQuery("step_minutes", "must divide an hour (5, 10, 15, 20, 30, 60)")
    result: dict[int, list[Slot]] = {rule.type_id: [] for rule in rules}
    spans = {rule.type_id: (rule, max(start, now + rule.notice), min(end, now + rule.days_ahead))
             for rule in rules}
    spans = {key: span for key, span in spans.items() if span[0].active and span[1] < span[2]}
    if not spans:
        return result
    zone = next(iter(spans.values()))[0].zone
    first_day = min(span[1] for span in spans.values()).astimezone(zone).date()
    last_day = (max(span[2] for span in spans.values())
                - timedelta(microseconds=1)).astimezone(zone).date()
    calendar = _calendar([span[0] for span in spans.values()], provider_id=provider_id,
                         first_day=first_day, last_day=last_day, exceptions=exceptions)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    step = timedelta(minutes=step_minutes)
    for chunk in chunks(days, limit):
        day_window = (midnight(chunk[0], zone), midnight(chunk[-1] + timedelta(days=1), zone))
        windows = {type_id: (max(earliest, day_window[0]), min(stop, day_window[1]))
                   for type_id, (_, earliest, stop) in spans.items()}
        windows = {type_id: window for type_id, window in windows.items()
                   if window[0] < window[1]}
        if not windows:
            continue
        # Open time, held time and what is left of it are the same for every type: computed
        # once over the types' windows together; each type fits its own slots in it.
        open_time = calendar.open_time(chunk, (min(w[0] for w in windows.values()),
                                               max(w[1] for w in windows.values())))
        held = _held_time([open_time], exclude_appointment_id=exclude_appointment_id)
        free = {provider: subtract(intervals, held.get(provider, []))
                for provider, intervals in open_time.items()}
        for type_id, window in windows.items():
            found = [slot for provider in calendar.offers.get(type_id, ()) if provider in free
                     for slot in _fit(free[provider], rules=spans[type_id][0],
                                      provider_id=provider, window=window, step=step)]
            found.sort(key=lambda slot: (slot.start, slot.provider_id))
            result[type_id] += found
        if limit is not None and len(result[rules[0].type_id]) >= limit:
            return {rules[0].type_id: result[rules[0].type_id][:limit]}
    return result


def slot_is_open(*, slot: Slot, now: datetime | None = None,
                 exclude_appointment_id: int | None = None,
                 step_minutes: int = STEP_MINUTES) -> bool:
    """Whether this exact slot is still bookable: the same answer ``find_open_slots`` gives,
    so a slot it offered stays open until something takes its time."""
    if slot.start.tzinfo is None or slot.start.utcoffset() is None:
        raise InvalidSlotQuery("start", "must carry a time zone")
    found = find_open_slots(
        appointment_type_id=slot.appointment_type_id, location_id=slot.location_id,
        provider_id=slot.provider_id, start=slot.start,
        end=slot.start + timedelta(microseconds=1), now=now,
        exclude_appointment_id=exclude_appointment_id, step_minutes=step_minutes)
    return slot in found


def has_hours_on(*, appointment_type_id: int, location_id: int, provider_id: int | None,
                 day: date) -> bool:
    """Whether anyone offering the type (or ``provider_id``) works at the location on the
    local ``day`` at all, booked or not: False for a day the location is closed to it
    (no hours, or time off all day)."""
    rules = _rules([appointment_type_id], location_id=location_id)[0]
    calendar = _calendar([rules], provider_id=provider_id, first_day=day, last_day=day)
    window = (midnight(day, rules.zone), midnight(day + timedelta(days=1), rules.zone))
    return bool(calendar.open_time([day], window))


def within_hours(slot: Slot) -> bool:
    """Whether the provider works at the slot's location for the whole slot (weekly hours
    and extra hours, less time off), whatever is booked then."""
    rules = _rules([slot.appointment_type_id], location_id=slot.location_id)[0]
    start, end = slot.start.astimezone(UTC), slot.end.astimezone(UTC)
    day = start.astimezone(rules.zone).date()
    calendar = _calendar([rules], provider_id=slot.provider_id, first_day=day, last_day=day)
    return any(begins <= start and end <= ends for begins, ends in
               calendar.open_time([day], (start, end)).get(slot.provider_id, []))


def _check_times(*, start: datetime, end: datetime, now: datetime | None
                 ) -> tuple[datetime, datetime, datetime]:
    for name, value in (("start", start), ("end", end), ("now", now)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise InvalidSlotQuery(name, "must carry a time zone")
    if end <= start:
        raise InvalidSlotQuery("end", "must be after start")
    return start.astimezone(UTC), end.astimezone(UTC), (now or utcnow()).astimezone(UTC)


def _rules(type_ids: list[int], *, location_id: int) -> list[_Rules]:
    """Each type's rules at the location, in the order asked; one query."""
    rows = {row.id: row for row in db.session.execute(
        select(AppointmentType.id, AppointmentType.duration_minutes,
               AppointmentType.buffer_before_minutes, AppointmentType.buffer_after_minutes,
               AppointmentType.min_notice_minutes, AppointmentType.max_days_ahead,
               AppointmentType.active, AppointmentType.practice_id,
               Location.practice_id.label("location_practice"), Location.timezone)
        .join(Location, Location.id == location_id)
        .where(AppointmentType.id.in_(type_ids)))}
    found = []
    for type_id in type_ids:
        row = rows.get(type_id)
        if row is None:
            if db.session.get(AppointmentType, type_id) is None:
                raise InvalidSlotQuery("appointment_type_id", "no such appointment type")
            raise InvalidSlotQuery("location_id", "no such location")
        if row.practice_id != row.location_practice:
            raise InvalidSlotQuery("location_id", "belongs to another practice")
        found.append(_rules_of(row, location_id, row.timezone))
    return found


def _rules_of(kind: Any, location_id: int, timezone: str) -> _Rules:
    """A type's rules (an ``AppointmentType`` or a row with its columns) at a location."""
    return _Rules(
        type_id=kind.id, location_id=location_id,
        duration=timedelta(minutes=kind.duration_minutes),
        before=timedelta(minutes=kind.buffer_before_minutes or 0),
        after=timedelta(minutes=kind.buffer_after_minutes or 0),
        notice=timedelta(minutes=kind.min_notice_minutes or 0),
        days_ahead=timedelta(days=kind.max_days_ahead), active=bool(kind.active),
        zone=ZoneInfo(timezone))


def _calendar(rules: list[_Rules], *, provider_id: int | None, first_day: date,
              last_day: date, exceptions: Sequence[Any] | None = None) -> Calendar:
    """The open time of the types' providers at their location (all ``rules`` are of one)."""
    return load_calendar(location_id=rules[0].location_id, zone=rules[0].zone,
                         type_ids=[rule.type_id for rule in rules], provider_id=provider_id,
                         first_day=first_day, last_day=last_day, exceptions=exceptions)


def _held_time(open_times: list[dict[int, list[Interval]]], *,
               exclude_appointment_id: int | None) -> dict[int, list[Interval]]:
    """Per provider, the merged buffered intervals of appointments (at any location) that can
    touch their open time (of every type asked: one query)."""
    open_times = [open_time for open_time in open_times if open_time]
    if not open_times:
        return {}
    low = min(ivs[0][0] for open_time in open_times for ivs in open_time.values()) - MAX_REACH
    high = max(ivs[-1][1] for open_time in open_times for ivs in open_time.values()) + MAX_REACH
    providers = sorted({provider for open_time in open_times for provider in open_time})
    query = (select(Appointment.provider_id, Appointment.start_at, Appointment.end_at,
                    AppointmentType.buffer_before_minutes, AppointmentType.buffer_after_minutes)
             .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
             .where(Appointment.provider_id.in_(providers),
                    Appointment.start_at >= low, Appointment.start_at < high,
                    Appointment.status.in_([str(status) for status in HOLDING_STATUSES])))
    if exclude_appointment_id is not None:
        query = query.where(Appointment.id != exclude_appointment_id)
    held: dict[int, list[Interval]] = defaultdict(list)
    for provider, start_at, end_at, before, after in db.session.execute(query):
        held[provider].append((start_at - timedelta(minutes=before or 0),
                               end_at + timedelta(minutes=after or 0)))
    return {provider: merge(intervals) for provider, intervals in held.items()}


def _fit(free: list[Interval], *, rules: _Rules, provider_id: int, window: Interval,
         step: timedelta) -> Iterator[Slot]:
    """The grid-aligned slots whose buffered span fits in one free interval and whose start
    lies in ``window``."""
    for free_start, free_end in free:
        latest = min(free_end - rules.after - rules.duration, window[1] - timedelta.resolution)
        moment = align(max(free_start + rules.before, window[0]), rules.zone, step)
        while moment <= latest:
            yield Slot(start=moment, end=moment + rules.duration, provider_id=provider_id,
                       location_id=rules.location_id, appointment_type_id=rules.type_id)
            moment += step
