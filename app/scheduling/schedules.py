"""Schedules (the calendars slots are offered from) and the time on them.

A schedule is one provider's calendar at a location, or a whole location's (``provider_id``
None: any provider working there). What lies on it, for a window of start times:

- free: open slots computed by the slot engine, one per appointment type offered and start
  (a location's calendar aggregates its providers: one slot per type and start, whoever
  takes it); and extra-hours exceptions as whole intervals;
- busy: appointments holding time, each on the calendar of its provider at its location;
- busy-unavailable: the provider's time off at the location (or at every location).

Busy time and exceptions belong to a provider's calendar; a location's calendar shows free
slots only. An inactive schedule is withdrawn from publication: nothing lies on it.

Schedule writes flush; the caller commits. Exceptions are written by ``calendars``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.core.errors import FieldErrors
from app.extensions import db
from app.practice.models import Location, Provider, provider_location
from app.scheduling import calendars
from app.scheduling.models import (
    Appointment,
    AppointmentType,
    Schedule,
    ScheduleException,
    provider_appointment_type,
)
from app.scheduling.open_time import EXTRA_HOURS, exception_reach
from app.scheduling.slots import HOLDING_STATUSES, open_slots_by_type

FREE, BUSY, BUSY_UNAVAILABLE = "free", "busy", "busy-unavailable"
STATUSES = (FREE, BUSY, BUSY_UNAVAILABLE)
MAX_COMMENT_LENGTH = 500
MAX_DESCRIPTIVE_LENGTH = 20_000


class ScheduleInputError(FieldErrors):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""


class ScheduleExists(ValueError):
    """The provider (or the whole location) already has a calendar at that location."""


@dataclass(frozen=True)
class ScheduleFields:
    location_id: int
    provider_id: int | None
    active: bool = True
    comment: str | None = None
    horizon_start: datetime | None = None
    horizon_end: datetime | None = None
    descriptive: str | None = None  # JSON of outside codings and identifiers, as given


def create_schedule(*, practice_id: int, values: ScheduleFields) -> Schedule:
    _check(practice_id, values)
    if calendars.find_schedule(practice_id=practice_id, location_id=values.location_id,
                              provider_id=values.provider_id) is not None:
        raise ScheduleExists(_exists_reason(values))
    schedule = Schedule(practice_id=practice_id, **asdict(values))
    db.session.add(schedule)
    try:
        db.session.flush()
    except IntegrityError:  # the same calendar created at the same moment
        db.session.rollback()
        raise ScheduleExists(_exists_reason(values)) from None
    return schedule


def update_schedule(*, schedule: Schedule, values: ScheduleFields) -> list[str]:
    """Apply new values; return the names of the fields that changed. Whose calendar it is
    (provider and location) cannot change: that is another schedule."""
    if (values.location_id, values.provider_id) != (schedule.location_id, schedule.provider_id):
        raise ScheduleInputError({"actor": "whose calendar this is (provider and location) "
                                           "cannot change; create another schedule"})
    _check(schedule.practice_id, values, creating=False)
    changes = [f.name for f in fields(values) if getattr(schedule, f.name) != getattr(values,
                                                                                      f.name)]
    for name in changes:
        setattr(schedule, name, getattr(values, name))
    db.session.flush()
    return changes


def _check(practice_id: int, values: ScheduleFields, *, creating: bool = True) -> None:
    errors: dict[str, str] = {}
    location = db.session.get(Location, values.location_id)
    if location is None or location.practice_id != practice_id:
        errors["location_id"] = f"Location/{values.location_id} is not known"
        location = None
    if values.provider_id is not None:
        provider = db.session.get(Provider, values.provider_id)
        if provider is None or provider.practice_id != practice_id:
            errors["provider_id"] = f"Practitioner/{values.provider_id} is not known"
        elif creating and location is not None and location not in provider.locations:
            errors["provider_id"] = f"{provider.display_name} does not work at {location.name}"
    if values.comment and len(values.comment) > MAX_COMMENT_LENGTH:
        errors["comment"] = f"must be at most {MAX_COMMENT_LENGTH} characters"
    if (values.horizon_start is not None and values.horizon_end is not None
            and values.horizon_end < values.horizon_start):
        errors["horizon_end"] = "must not be before the start"
    if values.descriptive and len(values.descriptive) > MAX_DESCRIPTIVE_LENGTH:
        errors["descriptive"] = (f"identifiers and codings may take at most "
                                 f"{MAX_DESCRIPTIVE_LENGTH} characters")
    if errors:
        raise ScheduleInputError(errors)


def _exists_reason(values: ScheduleFields) -> str:
    whose = ("the whole location" if values.provider_id is None
             else f"Practitioner/{values.provider_id}")
    return (f"a schedule for {whose} at Location/{values.location_id} already exists; "
            "update it instead")


def offered_types(schedules: Sequence[Schedule]) -> dict[int, list[AppointmentType]]:
    """Per schedule id, the active appointment types it offers (by name): its provider's, or
    those of any active provider working at the location. One query for providers'
    calendars, two when a location's calendar is among them."""
    if not schedules:
        return {}
    practice_ids = {schedule.practice_id for schedule in schedules}
    at_location: dict[int, set[int]] = defaultdict(set)
    if whole := {s.location_id for s in schedules if s.provider_id is None}:
        for provider_id, location_id in db.session.execute(
                select(provider_location.c.provider_id, provider_location.c.location_id)
                .join(Provider, Provider.id == provider_location.c.provider_id)
                .where(Provider.active.is_(True), Provider.practice_id.in_(practice_ids),
                       provider_location.c.location_id.in_(whole))):
            at_location[location_id].add(provider_id)
    providers = {s.provider_id for s in schedules if s.provider_id is not None}
    providers |= {provider_id for ids in at_location.values() for provider_id in ids}
    by_provider: dict[int, dict[int, AppointmentType]] = defaultdict(dict)
    offer = provider_appointment_type.c
    for kind, provider_id in db.session.execute(
            select(AppointmentType, offer.provider_id)
            .join(provider_appointment_type, offer.appointment_type_id == AppointmentType.id)
            .where(AppointmentType.practice_id.in_(practice_ids),
                   AppointmentType.active.is_(True), offer.provider_id.in_(providers))):
        by_provider[provider_id][kind.id] = kind
    result = {}
    for schedule in schedules:
        whose = ([schedule.provider_id] if schedule.provider_id is not None
                 else at_location.get(schedule.location_id, ()))
        kinds = {kind.id: kind for provider_id in whose
                 for kind in by_provider.get(provider_id, {}).values()}
        result[schedule.id] = sorted(kinds.values(), key=lambda k: (k.name, k.id))
    return result


@dataclass(frozen=True)
class LoadedSchedules:
    """Schedules (by id, their location loaded) with what ``time_on`` would query for them:
    the types each offers (``offered_types``) and the exceptions of their providers around a
    window (those the slot engine reads for it, ``exception_reach``; the window's own are
    those starting in it)."""

    schedules: list[Schedule]
    offered: dict[int, list[AppointmentType]]
    exceptions: list[ScheduleException]


@cache
def _schedules_with_types_and_exceptions() -> Select[tuple[Schedule, AppointmentType,
                                                            ScheduleException]]:
    """``load_schedules``' query, built once (on first use: the mappers must be configured)
    with its values bound per call."""
    offer = provider_appointment_type.c
    return (
        select(Schedule, AppointmentType, ScheduleException)
        .options(joinedload(Schedule.location))
        .outerjoin(provider_appointment_type, offer.provider_id == Schedule.provider_id)
        .outerjoin(AppointmentType, and_(AppointmentType.id == offer.appointment_type_id,
                                         AppointmentType.practice_id == Schedule.practice_id,
                                         AppointmentType.active.is_(True)))
        .outerjoin(ScheduleException, and_(
            ScheduleException.provider_id == Schedule.provider_id,
            ScheduleException.starts_at < bindparam("reach_high"),
            ScheduleException.ends_at > bindparam("reach_low")))
        .where(Schedule.practice_id == bindparam("practice_id"),
               Schedule.id.in_(bindparam("schedule_ids", expanding=True)))
        .order_by(Schedule.id))


def load_schedules(practice_id: int, *, schedule_ids: Collection[int], start: datetime,
                   end: datetime) -> LoadedSchedules:
    """The practice's ``schedule_ids`` with their offered types and their providers'
    exceptions around [start, end), for ``time_on`` over that window: one query when all
    are providers' calendars, one more for locations' (see ``offered_types``)."""
    low, high = exception_reach(start, end)
    rows = db.session.execute(_schedules_with_types_and_exceptions(), {
        "practice_id": practice_id, "schedule_ids": list(schedule_ids),
        "reach_low": low, "reach_high": high}).all()
    found: dict[int, Schedule] = {}
    kinds: dict[int, dict[int, AppointmentType]] = defaultdict(dict)
    exceptions: dict[int, ScheduleException] = {}
    for schedule, kind, exception in rows:  # one row per type and exception of a schedule
        found[schedule.id] = schedule
        if kind is not None:
            kinds[schedule.id][kind.id] = kind
        if exception is not None:
            exceptions[exception.id] = exception
    offered = {schedule_id: sorted(kinds[schedule_id].values(), key=lambda k: (k.name, k.id))
               for schedule_id in found}
    offered |= offered_types([s for s in found.values() if s.provider_id is None])
    return LoadedSchedules(list(found.values()), offered, list(exceptions.values()))


@dataclass(frozen=True)
class TimeOnSchedule:
    """One stretch of time on a schedule: a computed open slot (with its type), an
    appointment's held time, or an exception."""

    schedule: Schedule
    status: str  # FREE | BUSY | BUSY_UNAVAILABLE
    start: datetime  # UTC
    end: datetime
    appointment_type: AppointmentType | None = None  # computed open slots only
    appointment: Appointment | None = None
    exception: ScheduleException | None = None


def time_on(*, schedules: Sequence[Schedule], start: datetime, end: datetime,
            statuses: Collection[str] = STATUSES, type_ids: Collection[int] | None = None,
            now: datetime | None = None, loaded: LoadedSchedules | None = None
            ) -> list[TimeOnSchedule]:
    """What lies on the active ``schedules`` with a start in [start, end), ordered by start.
    ``type_ids`` keeps only computed open slots of those appointment types. ``loaded``: what
    ``load_schedules`` read for these schedules over this window, not read again (the slot
    engine takes a provider's calendar's exceptions from it too)."""
    active = [schedule for schedule in schedules if schedule.active]
    found: list[TimeOnSchedule] = []
    if FREE in statuses:
        offered = loaded.offered if loaded is not None else offered_types(active)
        for schedule in active:
            kinds = [k for k in offered[schedule.id] if type_ids is None or k.id in type_ids]
            around = None if loaded is None else [
                row for row in loaded.exceptions if row.provider_id == schedule.provider_id]
            found += _open_slots(schedule, kinds, start=start, end=end, now=now,
                                 exceptions=around)
    if type_ids is None:
        with_provider = [schedule for schedule in active if schedule.provider_id is not None]
        if BUSY in statuses:
            found += _held(with_provider, start=start, end=end)
        rows = _exceptions_of(with_provider, start=start, end=end) if loaded is None else [
            row for row in loaded.exceptions if start <= row.starts_at < end]
        found += [item for item in _exceptions(with_provider, rows)
                  if item.status in statuses]
    found.sort(key=lambda item: (item.start, item.schedule.id, item.status,
                                 item.appointment_type.id if item.appointment_type else 0))
    return found


def _open_slots(schedule: Schedule, kinds: Sequence[AppointmentType], *, start: datetime,
                end: datetime, now: datetime | None,
                exceptions: Sequence[ScheduleException] | None) -> list[TimeOnSchedule]:
    """Open slots within the planning horizon (when the schedule has one); ``exceptions``:
    its provider's around [start, end), when already read."""
    if schedule.horizon_start is not None:
        start = max(start, schedule.horizon_start)
    if schedule.horizon_end is not None:
        end = min(end, schedule.horizon_end)
    if end <= start:
        return []
    by_type = open_slots_by_type(appointment_types=kinds, location=schedule.location,
                                 provider_id=schedule.provider_id, start=start, end=end,
                                 now=now, exceptions=exceptions) if kinds else {}
    result = []
    for kind in kinds:
        starts: dict[datetime, datetime] = {}
        for slot in by_type[kind.id]:
            starts.setdefault(slot.start, slot.end)
        result += [TimeOnSchedule(schedule, FREE, begins, ends, appointment_type=kind)
                   for begins, ends in starts.items()]
    return result


def _held(schedules: Sequence[Schedule], *, start: datetime, end: datetime
          ) -> list[TimeOnSchedule]:
    if not schedules:
        return []
    by_calendar = {(s.provider_id, s.location_id): s for s in schedules}
    rows = db.session.execute(select(Appointment).where(
        Appointment.provider_id.in_({s.provider_id for s in schedules}),
        Appointment.start_at >= start, Appointment.start_at < end,
        Appointment.status.in_([str(status) for status in HOLDING_STATUSES]))).scalars()
    return [TimeOnSchedule(by_calendar[(row.provider_id, row.location_id)], BUSY, row.start_at,
                           row.end_at, appointment=row)
            for row in rows if (row.provider_id, row.location_id) in by_calendar]


def _exceptions_of(schedules: Sequence[Schedule], *, start: datetime, end: datetime
                   ) -> Sequence[ScheduleException]:
    """The exceptions of the schedules' providers that start in [start, end)."""
    if not schedules:
        return []
    return db.session.execute(select(ScheduleException).where(
        ScheduleException.provider_id.in_({s.provider_id for s in schedules}),
        ScheduleException.starts_at >= start, ScheduleException.starts_at < end)).scalars().all()


def _exceptions(schedules: Sequence[Schedule], rows: Sequence[ScheduleException]
                ) -> list[TimeOnSchedule]:
    """Each exception once, on its provider's calendar at its location; time off at every
    location on the first of the provider's calendars asked for (by id), as
    ``schedule_of_exception`` places it when none is asked for."""
    found: dict[int, TimeOnSchedule] = {}
    for schedule in sorted(schedules, key=lambda s: s.id):
        for row in rows:
            if (row.id not in found and row.provider_id == schedule.provider_id
                    and row.location_id in (None, schedule.location_id)):
                found[row.id] = TimeOnSchedule(schedule, exception_status(row), row.starts_at,
                                               row.ends_at, exception=row)
    return list(found.values())


def exception_status(exception: ScheduleException) -> str:
    return FREE if exception.kind == EXTRA_HOURS else BUSY_UNAVAILABLE


def schedule_of_appointment(appointment: Appointment) -> Schedule | None:
    """The calendar an appointment's time is held on: its provider's at its location."""
    return calendars.find_schedule(practice_id=appointment.practice_id,
                                   location_id=appointment.location_id,
                                   provider_id=appointment.provider_id)


def schedule_of_exception(practice_id: int, exception: ScheduleException) -> Schedule | None:
    """The calendar an exception lies on: its provider's at its location; for time off at
    every location, the provider's first calendar (it lies on each of them)."""
    stmt = select(Schedule).where(Schedule.practice_id == practice_id,
                                  Schedule.provider_id == exception.provider_id)
    if exception.location_id is not None:
        stmt = stmt.where(Schedule.location_id == exception.location_id)
    return db.session.execute(stmt.order_by(Schedule.id)).scalars().first()


def exception_in_practice(practice_id: int, exception_id: int) -> ScheduleException | None:
    return db.session.execute(
        select(ScheduleException).join(Provider, Provider.id == ScheduleException.provider_id)
        .where(ScheduleException.id == exception_id, Provider.practice_id == practice_id)
    ).scalar_one_or_none()


def appointment_in_practice(practice_id: int, appointment_id: int) -> Appointment | None:
    return db.session.execute(select(Appointment).where(
        Appointment.id == appointment_id, Appointment.practice_id == practice_id)
    ).scalar_one_or_none()


def schedules_in(practice_id: int, *, schedule_ids: Collection[int] | None = None
                 ) -> list[Schedule]:
    """The practice's schedules (those named, when ``schedule_ids`` is given), by id."""
    stmt = (select(Schedule).where(Schedule.practice_id == practice_id)
            .options(joinedload(Schedule.location)))  # its zone and booking links need it
    if schedule_ids is not None:
        stmt = stmt.where(Schedule.id.in_(schedule_ids))
    return list(db.session.execute(stmt.order_by(Schedule.id)).scalars())

