"""The staff calendar's queries: a location's day as a time grid (a column per provider
working there that day), one provider's week as a grid (a column per day), the location's
week as booked and open counts per provider and day, one appointment with the times it could
move to, and the slot a booking form names. The grid's geometry is ``grid``'s; these read
what it is drawn from.

Times come back in the location's zone. Open slots are the staff's view of the slot engine:
the appointment type's notice and horizon rules are for patients, so they are asked for as
the booking service does for staff (only the past is closed). Reading appointments with their
patients appends an audit event (ids and counts, no PHI).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from app.core.clock import local_to_utc, utcnow
from app.extensions import db
from app.practice.models import Location, Provider
from app.scheduling import slots
from app.scheduling.grid import (
    AppointmentRow,
    ColumnData,
    Grid,
    GridColumn,
    Interval,
    SlotRow,
    TimeOff,
    build_grid,
    span,
)
from app.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ScheduleException,
    WorkingHours,
)
from app.scheduling.open_time import EXTRA_HOURS, TIME_OFF, in_force
from app.scheduling.slots import Slot
from app.security import audit

T = TypeVar("T", Location, AppointmentType, Provider)
MOVE_CHOICES = 10
# Never-held appointments are left off the calendar; the patient's record still lists them.
HIDDEN_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR)


class CalendarNotFound(LookupError):
    """No such location, provider, appointment type or appointment in this practice; ``field``
    names the argument."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Setting:
    """What every calendar page chooses from and has chosen."""

    locations: list[Location]
    location: Location | None
    appointment_types: list[AppointmentType]
    appointment_type: AppointmentType | None
    day: date
    zone: ZoneInfo

    def shifted(self, days: int) -> str:
        """The chosen day moved by ``days``, as the calendar's ``date`` argument."""
        return (self.day + timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class DayView:
    setting: Setting
    grid: Grid  # a column per provider working at the location that day


@dataclass(frozen=True)
class WeekDay:
    day: date
    booked: int
    open: int


@dataclass(frozen=True)
class ProviderWeek:
    provider: Provider
    days: list[WeekDay]


@dataclass(frozen=True)
class WeekView:
    setting: Setting
    providers: list[Provider]
    provider: Provider | None  # None: the whole location
    days: list[WeekDay]  # the chosen provider's counts, or the location's
    per_provider: list[ProviderWeek]  # the whole location: each provider's counts
    grid: Grid | None  # one provider: a column per day, Monday to Sunday


@dataclass(frozen=True)
class AppointmentDetail:
    row: AppointmentRow
    moves: list[SlotRow]


def setting(*, practice_id: int, location_id: int | None = None, day: date | None = None,
            appointment_type_id: int | None = None, now: datetime | None = None) -> Setting:
    """The practice's locations and active types, the chosen ones (default: the first), and
    the day (default: today in the location's zone)."""
    locations = list(db.session.execute(select(Location).where(
        Location.practice_id == practice_id).order_by(Location.name, Location.id)).scalars())
    kinds = list(db.session.execute(select(AppointmentType).where(
        AppointmentType.practice_id == practice_id, AppointmentType.active.is_(True)
    ).order_by(AppointmentType.name, AppointmentType.id)).scalars())
    location = _chosen(locations, location_id, "location_id")
    kind = _chosen(kinds, appointment_type_id, "appointment_type_id")
    zone = ZoneInfo(location.timezone) if location else UTC
    return Setting(locations=locations, location=location, appointment_types=kinds,
                   appointment_type=kind, zone=zone,
                   day=day or (now or utcnow()).astimezone(zone).date())


def day_view(*, practice_id: int, location_id: int | None = None, day: date | None = None,
             appointment_type_id: int | None = None, now: datetime | None = None) -> DayView:
    """The location's day: a column per provider with hours there that day (or
    appointments, which an EHR may have booked outside them)."""
    chosen = setting(practice_id=practice_id, location_id=location_id, day=day,
                     appointment_type_id=appointment_type_id, now=now)
    if chosen.location is None:
        return DayView(setting=chosen, grid=Grid(columns=[], rows=[]))
    start, end = span(chosen.day, 1, chosen.zone)
    providers = {p.id: p for p in _providers(chosen.location)}
    appointments = _appointments(chosen.location.id, start, end)
    for appointment in appointments:  # a provider no longer at this location keeps a column
        providers.setdefault(appointment.provider_id, appointment.provider)
    working, time_off = _hours(chosen.location.id, list(providers), [chosen.day], chosen.zone)
    busy = {a.provider_id for a in appointments}
    columns = {pid: ColumnData(GridColumn(p, chosen.day), working=working[pid, chosen.day],
                                time_off=time_off[pid])
               for pid, p in providers.items() if working[pid, chosen.day] or pid in busy}
    for appointment in appointments:
        columns[appointment.provider_id].appointments.append(_row(appointment, chosen.zone))
    for slot in _open(chosen, start, end, provider_id=None, now=now):
        if slot.provider_id in columns:
            columns[slot.provider_id].open_slots[slot.start] = SlotRow(
                slot, slot.start.astimezone(chosen.zone))
    audit.record(audit.Action.APPOINTMENT_VIEW, object_type="location",
                 object_id=chosen.location.id,
                 detail={"query": "day", "count": len(appointments),
                         "patient_ids": _patient_ids(appointments)})
    db.session.commit()
    return DayView(setting=chosen, grid=build_grid(list(columns.values()), chosen.zone))


def _patient_ids(appointments: list[Appointment]) -> list[int]:
    """Who a calendar showed, for its audit event (one event per list, the ids in it)."""
    return sorted({appointment.patient_id for appointment in appointments})


def week_view(*, practice_id: int, location_id: int | None = None, day: date | None = None,
              appointment_type_id: int | None = None, provider_id: int | None = None,
              now: datetime | None = None) -> WeekView:
    """The seven days from ``day``'s Monday: for one provider a grid of their appointments,
    open slots and hours; for the whole location booked appointments and open slots per
    provider and day."""
    chosen = setting(practice_id=practice_id, location_id=location_id, day=day,
                     appointment_type_id=appointment_type_id, now=now)
    monday = chosen.day - timedelta(days=chosen.day.weekday())
    week = [monday + timedelta(days=n) for n in range(7)]
    if chosen.location is None:
        return WeekView(setting=chosen, providers=[], provider=None,
                        days=[WeekDay(d, 0, 0) for d in week], per_provider=[], grid=None)
    providers = _providers(chosen.location)
    provider = _chosen(providers, provider_id, "provider_id") if provider_id else None
    start, end = span(monday, 7, chosen.zone)
    open_slots = _open(chosen, start, end, provider_id=provider.id if provider else None,
                       now=now)
    if provider is None:
        return _location_week(chosen, providers, week, open_slots, start, end)
    appointments = _appointments(chosen.location.id, start, end, provider_id=provider.id)
    working, time_off = _hours(chosen.location.id, [provider.id], week, chosen.zone)
    columns = {d: ColumnData(GridColumn(provider, d), working=working[provider.id, d],
                              time_off=time_off[provider.id]) for d in week}
    for appointment in appointments:
        row = _row(appointment, chosen.zone)
        columns[row.starts.date()].appointments.append(row)
    for slot in open_slots:
        starts = slot.start.astimezone(chosen.zone)
        columns[starts.date()].open_slots[slot.start] = SlotRow(slot, starts)
    audit.record(audit.Action.APPOINTMENT_VIEW, object_type="provider", object_id=provider.id,
                 detail={"query": "week", "location_id": chosen.location.id,
                         "count": len(appointments),
                         "patient_ids": _patient_ids(appointments)})
    db.session.commit()
    days = [WeekDay(d, len(columns[d].appointments), len(columns[d].open_slots)) for d in week]
    return WeekView(setting=chosen, providers=providers, provider=provider, days=days,
                    per_provider=[], grid=build_grid(list(columns.values()), chosen.zone))


def appointment_detail(*, practice_id: int, appointment_id: int, now: datetime | None = None,
                       move_day: date | None = None) -> AppointmentDetail:
    """One appointment (with its patient) and the open times it could move to: the same type
    at the same location, with any provider; the next ``MOVE_CHOICES``, or every open time on
    ``move_day`` (in the location's zone)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.practice_id != practice_id:
        raise CalendarNotFound("appointment_id")
    zone = ZoneInfo(appointment.location.timezone)
    moves: list[SlotRow] = []
    if appointment.status in (AppointmentStatus.PROPOSED, AppointmentStatus.PENDING,
                              AppointmentStatus.BOOKED):
        kind = appointment.appointment_type
        begin = (now or utcnow()).astimezone(UTC)
        end = begin + timedelta(days=max(kind.max_days_ahead, 1))
        if move_day is not None:
            begin, end = span(move_day, 1, zone)
            begin = max(begin, (now or utcnow()).astimezone(UTC))
        names = {p.id: p.display_name for p in appointment.location.providers}
        moves = [SlotRow(slot, slot.start.astimezone(zone), names.get(slot.provider_id, ""))
                 for slot in slots.find_open_slots(
            appointment_type_id=kind.id, location_id=appointment.location_id, start=begin,
            end=end, limit=None if move_day else MOVE_CHOICES,
            now=begin - timedelta(minutes=kind.min_notice_minutes or 0),
            exclude_appointment_id=appointment.id)] if begin < end else []
    audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=appointment.patient_id,
                 object_type="appointment", object_id=appointment.id,
                 detail={"query": "calendar_detail"})
    db.session.commit()
    return AppointmentDetail(row=_row(appointment, zone), moves=moves)


def slot_for(*, practice_id: int, appointment_type_id: int, provider_id: int, location_id: int,
             start: datetime) -> SlotRow:
    """The slot a form names (its end from the type's duration), shown in the location's
    zone. It is not checked for being open: booking does that."""
    kind = db.session.get(AppointmentType, appointment_type_id)
    provider = db.session.get(Provider, provider_id)
    location = db.session.get(Location, location_id)
    for name, found in (("appointment_type_id", kind), ("provider_id", provider),
                        ("location_id", location)):
        if found is None or found.practice_id != practice_id:
            raise CalendarNotFound(name)
    assert kind is not None and location is not None  # checked above
    begins = start.astimezone(UTC)
    slot = Slot(start=begins, end=begins + timedelta(minutes=kind.duration_minutes),
                provider_id=provider_id, location_id=location_id,
                appointment_type_id=appointment_type_id)
    return SlotRow(slot, begins.astimezone(ZoneInfo(location.timezone)))


def local_day(appointment: Appointment) -> date:
    """The appointment's day in its location's zone."""
    return appointment.start_at.astimezone(ZoneInfo(appointment.location.timezone)).date()


def _location_week(chosen: Setting, providers: list[Provider], week: list[date],
                   open_slots: list[Slot], start: datetime, end: datetime) -> WeekView:
    """Booked and open counts per provider and day, and the location's totals per day."""
    assert chosen.location is not None  # the caller returns early without one
    booked: Counter[tuple[int, date]] = Counter()
    for provider_id, at in db.session.execute(
            select(Appointment.provider_id, Appointment.start_at)
            .where(Appointment.location_id == chosen.location.id, Appointment.start_at >= start,
                   Appointment.start_at < end,
                   Appointment.status.not_in([str(s) for s in HIDDEN_STATUSES]))):
        booked[provider_id, at.astimezone(chosen.zone).date()] += 1
    open_: Counter[tuple[int, date]] = Counter(
        (slot.provider_id, slot.start.astimezone(chosen.zone).date()) for slot in open_slots)
    per_provider = [ProviderWeek(p, [WeekDay(d, booked[p.id, d], open_[p.id, d]) for d in week])
                    for p in providers]
    days = [WeekDay(d, sum(n for (_, on), n in booked.items() if on == d),
                    sum(n for (_, on), n in open_.items() if on == d)) for d in week]
    return WeekView(setting=chosen, providers=providers, provider=None, days=days,
                    per_provider=per_provider, grid=None)


def _chosen(options: list[T], wanted: int | None, name: str) -> T | None:
    if wanted is None:
        return options[0] if options else None
    for option in options:
        if option.id == wanted:
            return option
    raise CalendarNotFound(name)


def _providers(location: Location) -> list[Provider]:
    return sorted((p for p in location.providers if p.active),
                  key=lambda p: (p.family_name, p.given_name, p.id))


def _appointments(location_id: int, start: datetime, end: datetime, *,
                  provider_id: int | None = None) -> list[Appointment]:
    """The location's appointments starting in [start, end), with patient, type and
    provider, in one query."""
    query = (select(Appointment)
             .options(joinedload(Appointment.patient), joinedload(Appointment.appointment_type),
                      joinedload(Appointment.provider))
             .where(Appointment.location_id == location_id, Appointment.start_at >= start,
                    Appointment.start_at < end,
                    Appointment.status.not_in([str(s) for s in HIDDEN_STATUSES]))
             .order_by(Appointment.start_at, Appointment.id))
    if provider_id is not None:
        query = query.where(Appointment.provider_id == provider_id)
    return list(db.session.execute(query).scalars())


def _hours(location_id: int, provider_ids: list[int], days: list[date], zone: ZoneInfo
           ) -> tuple[defaultdict[tuple[int, date], list[Interval]],
                      defaultdict[int, list[TimeOff]]]:
    """Per provider and day, the working time at the location (weekly hours and extra hours,
    as UTC intervals within the local day); per provider, their time off there (or at every
    location) during the days. One query for weekly hours, one for exceptions."""
    working: defaultdict[tuple[int, date], list[Interval]] = defaultdict(list)
    time_off: defaultdict[int, list[TimeOff]] = defaultdict(list)
    first, last = days[0], days[-1]
    for row in db.session.execute(
            select(WorkingHours.provider_id, WorkingHours.weekday, WorkingHours.start_time,
                   WorkingHours.end_time, WorkingHours.valid_from, WorkingHours.valid_until)
            .where(WorkingHours.location_id == location_id,
                   WorkingHours.provider_id.in_(provider_ids),
                   or_(WorkingHours.valid_from.is_(None), WorkingHours.valid_from <= last),
                   or_(WorkingHours.valid_until.is_(None), WorkingHours.valid_until >= first))):
        for day in days:
            if day.weekday() == row.weekday and in_force(day, row.valid_from, row.valid_until):
                working[row.provider_id, day].append((local_to_utc(day, row.start_time, zone),
                                                      local_to_utc(day, row.end_time, zone)))
    start, end = span(first, len(days), zone)
    for row in db.session.execute(
            select(ScheduleException.provider_id, ScheduleException.kind,
                   ScheduleException.starts_at, ScheduleException.ends_at,
                   ScheduleException.label)
            .where(ScheduleException.provider_id.in_(provider_ids),
                   ScheduleException.starts_at < end, ScheduleException.ends_at > start,
                   or_(and_(ScheduleException.kind == TIME_OFF,
                            or_(ScheduleException.location_id.is_(None),
                                ScheduleException.location_id == location_id)),
                       and_(ScheduleException.kind == EXTRA_HOURS,
                            ScheduleException.location_id == location_id)))
            .order_by(ScheduleException.starts_at)):
        if row.kind == TIME_OFF:
            time_off[row.provider_id].append(TimeOff(row.starts_at, row.ends_at,
                                                     row.label or ""))
            continue
        for day in days:
            begins, ends = span(day, 1, zone)
            if row.starts_at < ends and row.ends_at > begins:
                working[row.provider_id, day].append((max(row.starts_at, begins),
                                                      min(row.ends_at, ends)))
    return working, time_off


def _open(chosen: Setting, start: datetime, end: datetime, *, provider_id: int | None,
          now: datetime | None) -> list[Slot]:
    """Open slots in [start, end) as staff may book them: from now on, notice and horizon
    not applying."""
    kind, location = chosen.appointment_type, chosen.location
    if kind is None or location is None:
        return []
    begin = max(start, (now or utcnow()).astimezone(UTC))
    if begin >= end:
        return []
    return slots.find_open_slots(
        appointment_type_id=kind.id, location_id=location.id, provider_id=provider_id,
        start=begin, end=end, now=begin - timedelta(minutes=kind.min_notice_minutes or 0))


def _row(appointment: Appointment, zone: ZoneInfo) -> AppointmentRow:
    return AppointmentRow(appointment, appointment.start_at.astimezone(zone),
                          appointment.end_at.astimezone(zone))
