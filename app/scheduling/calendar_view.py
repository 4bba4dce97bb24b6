"""Read side of the staff calendar: a location's day as a time grid (a column per provider
working there that day), one provider's week as a grid (a column per day), the location's
week as booked and open counts per provider and day, one appointment with the times it could
move to, and the slot a booking form names.

Times come back in the location's zone. Open slots are the staff's view of the slot engine:
the appointment type's notice and horizon rules are for patients, so they are asked for as
the booking service does for staff (only the past is closed). Reading appointments with their
patients appends an audit event (ids and counts, no PHI).

The grid's rows are 15 minutes of local wall-clock time, from the earliest working hour (or
appointment) of the columns to the latest. They are counted in real time, so on the day
clocks spring forward the skipped hour has no rows, and on the day they fall back the
repeated hour has two sets of rows, each marked with its UTC offset. In a week, a row that
does not exist on one of its days (the skipped hour) is a ``GAP`` cell there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from app.core.clock import local_to_utc, utcnow
from app.extensions import db
from app.practice.models import Location, Provider
from app.scheduling import slots
from app.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ScheduleException,
    WorkingHours,
)
from app.scheduling.slots import EXTRA_HOURS, TIME_OFF, Slot
from app.security import audit

T = TypeVar("T", Location, AppointmentType, Provider)
MOVE_CHOICES = 10
# Never-held appointments are left off the calendar; the patient's record still lists them.
HIDDEN_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR)
ROW = timedelta(minutes=slots.STEP_MINUTES)  # one grid row; open slots start on its edges
# What a grid cell shows. COVERED cells lie under a block or run above them (rowspan) and
# are not drawn; GAP is a wall-clock time the day does not have (clocks sprang forward).
BLOCK, OPEN, OFF, EMPTY, CLOSED, GAP, COVERED = (
    "block", "open", "off", "empty", "closed", "gap", "covered")

Interval = tuple[datetime, datetime]
RowKey = tuple[time, int]  # local wall-clock time, fold (1: the second of a repeated time)


class CalendarNotFound(LookupError):
    """No such location, provider, appointment type or appointment in this practice; ``field``
    names the argument."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class SlotRow:
    slot: Slot
    starts: datetime  # in the location's zone
    provider_name: str = ""


@dataclass(frozen=True)
class AppointmentRow:
    appointment: Appointment
    starts: datetime  # in the location's zone
    ends: datetime


@dataclass(frozen=True)
class TimeOff:
    starts: datetime  # UTC
    ends: datetime
    label: str


@dataclass(frozen=True)
class GridCell:
    kind: str  # BLOCK, OPEN, OFF, EMPTY, CLOSED, GAP or COVERED
    rowspan: int = 1
    appointments: tuple[AppointmentRow, ...] = ()  # BLOCK: overlapping ones share a cell
    slot: SlotRow | None = None  # OPEN
    label: str = ""  # OFF: the time off's label


@dataclass(frozen=True)
class GridRow:
    starts: datetime  # local: the row's wall-clock time (on one of the grid's days)
    offset: str  # "UTC-4" when this wall-clock time happens twice on a day of the grid
    cells: list[GridCell]  # one per column, COVERED included

    @property
    def on_the_hour(self) -> bool:
        return self.starts.minute == 0


@dataclass(frozen=True)
class GridColumn:
    provider: Provider
    day: date


@dataclass(frozen=True)
class Grid:
    columns: list[GridColumn]
    rows: list[GridRow]  # empty when no column has hours or appointments


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


@dataclass
class _ColumnData:
    """What one grid column is drawn from."""

    column: GridColumn
    appointments: list[AppointmentRow] = field(default_factory=list)
    open_slots: dict[datetime, SlotRow] = field(default_factory=dict)  # by UTC start
    working: list[Interval] = field(default_factory=list)
    time_off: list[TimeOff] = field(default_factory=list)


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
    start, end = _span(chosen.day, 1, chosen.zone)
    providers = {p.id: p for p in _providers(chosen.location)}
    appointments = _appointments(chosen.location.id, start, end)
    for appointment in appointments:  # a provider no longer at this location keeps a column
        providers.setdefault(appointment.provider_id, appointment.provider)
    working, time_off = _hours(chosen.location.id, list(providers), [chosen.day], chosen.zone)
    busy = {a.provider_id for a in appointments}
    columns = {pid: _ColumnData(GridColumn(p, chosen.day), working=working[pid, chosen.day],
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
    return DayView(setting=chosen, grid=_grid(list(columns.values()), chosen.zone))


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
    start, end = _span(monday, 7, chosen.zone)
    open_slots = _open(chosen, start, end, provider_id=provider.id if provider else None,
                       now=now)
    if provider is None:
        return _location_week(chosen, providers, week, open_slots, start, end)
    appointments = _appointments(chosen.location.id, start, end, provider_id=provider.id)
    working, time_off = _hours(chosen.location.id, [provider.id], week, chosen.zone)
    columns = {d: _ColumnData(GridColumn(provider, d), working=working[provider.id, d],
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
                    per_provider=[], grid=_grid(list(columns.values()), chosen.zone))


def appointment_detail(*, practice_id: int, appointment_id: int, now: datetime | None = None
                       ) -> AppointmentDetail:
    """One appointment (with its patient) and the next open times it could move to: the same
    type at the same location, with any provider."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.practice_id != practice_id:
        raise CalendarNotFound("appointment_id")
    zone = ZoneInfo(appointment.location.timezone)
    moves: list[SlotRow] = []
    if appointment.status in (AppointmentStatus.PROPOSED, AppointmentStatus.PENDING,
                              AppointmentStatus.BOOKED):
        kind = appointment.appointment_type
        begin = (now or utcnow()).astimezone(UTC)
        names = {p.id: p.display_name for p in appointment.location.providers}
        moves = [SlotRow(slot, slot.start.astimezone(zone), names.get(slot.provider_id, ""))
                 for slot in slots.find_open_slots(
            appointment_type_id=kind.id, location_id=appointment.location_id, start=begin,
            end=begin + timedelta(days=max(kind.max_days_ahead, 1)), limit=MOVE_CHOICES,
            now=begin - timedelta(minutes=kind.min_notice_minutes or 0),
            exclude_appointment_id=appointment.id)]
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


def _span(first: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return _midnight(first, zone), _midnight(first + timedelta(days=days), zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return local_to_utc(day, time(0), zone)


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
            if day.weekday() == row.weekday and slots.in_force(day, row.valid_from,
                                                                 row.valid_until):
                working[row.provider_id, day].append((local_to_utc(day, row.start_time, zone),
                                                      local_to_utc(day, row.end_time, zone)))
    start, end = _span(first, len(days), zone)
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
            begins, ends = _span(day, 1, zone)
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


# ---- the grid ----

def _grid(columns: list[_ColumnData], zone: ZoneInfo) -> Grid:
    """Rows of ROW from the columns' earliest working time or appointment to their latest (as
    wall-clock times), and each column's cells in them."""
    bounds = [_wall_bounds(data, zone) for data in columns]
    found = [b for b in bounds if b is not None]
    if not found:
        return Grid(columns=[data.column for data in columns], rows=[])
    first, last = min(b[0] for b in found), max(b[1] for b in found)
    days = sorted({data.column.day for data in columns})
    keys = _merged([_row_keys(day, first, last, zone) for day in days])
    instants = {day: [_instant(day, key, zone) for key in keys] for day in days}
    cells = [_cells(instants[data.column.day], data) for data in columns]
    rows = []
    for index, key in enumerate(keys):
        starts, offset = _row_label(key, days, zone)
        rows.append(GridRow(starts=starts, offset=offset,
                            cells=[column[index] for column in cells]))
    return Grid(columns=[data.column for data in columns], rows=rows)


def _wall_bounds(data: _ColumnData, zone: ZoneInfo) -> tuple[int, int] | None:
    """The column's working time and appointments as local minutes since midnight, the start
    rounded down and the end up to a row; None when it has neither."""
    begins, ends = _span(data.column.day, 1, zone)
    spans = [*data.working, *((a.starts, a.ends) for a in data.appointments)]
    spans = [(max(s, begins), min(e, ends)) for s, e in spans if s < ends and e > begins]
    if not spans:
        return None
    step = int(ROW.total_seconds() // 60)

    def minutes(moment: datetime) -> float:
        local = moment.astimezone(zone)
        return local.hour * 60 + local.minute + local.second / 60

    first = min(int(minutes(s)) // step * step for s, _ in spans)
    last = max(24 * 60 if e >= ends else -(-minutes(e) // step) * step for _, e in spans)
    return first, int(last)


def _row_keys(day: date, first: int, last: int, zone: ZoneInfo) -> list[RowKey]:
    """The day's rows between two wall-clock times (minutes since midnight), stepped in real
    time: a skipped hour has no rows, a repeated hour has its rows twice."""
    def instant(minutes: int) -> datetime:
        if minutes >= 24 * 60:
            return _midnight(day + timedelta(days=1), zone)
        return local_to_utc(day, time(minutes // 60, minutes % 60), zone)

    keys: list[RowKey] = []
    moment, end = instant(first), instant(last)
    while moment < end:
        local = moment.astimezone(zone)
        keys.append((local.time().replace(fold=0), local.fold))
        moment += ROW
    return keys


def _merged(sequences: list[list[RowKey]]) -> list[RowKey]:
    """One order holding every day's rows (each day's in its own order): a day with a
    repeated hour adds its second rows after the first ones, a skipped hour's rows stay."""
    merged: list[RowKey] = []
    for keys in sequences:
        result: list[RowKey] = []
        position = 0
        for key in keys:
            if key in merged[position:]:
                found = merged.index(key, position)
                result += merged[position:found + 1]
                position = found + 1
            else:
                result.append(key)
        merged = result + merged[position:]
    return merged


def _instant(day: date, key: RowKey, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a row on a day; None when the day has no such wall-clock time."""
    wall, fold = key
    local = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold)
    moment = local.astimezone(UTC)
    back = moment.astimezone(zone)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None) or back.fold != fold:
        return None
    return moment


def _row_label(key: RowKey, days: list[date], zone: ZoneInfo) -> tuple[datetime, str]:
    """The row's local time, and its UTC offset when the time happens twice on a day."""
    wall, fold = key
    label: datetime | None = None
    for day in days:
        moment = _instant(day, key, zone)
        if moment is None:
            continue
        local = moment.astimezone(zone)
        label = label or local
        twin = local.replace(fold=1 - fold)
        if twin.utcoffset() != local.utcoffset():
            return local, _offset(local)
    assert label is not None  # every row comes from one of the days
    return label, ""


def _offset(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    hours, minutes = divmod(int(abs(offset).total_seconds()) // 60, 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def _cells(instants: list[datetime | None], data: _ColumnData) -> list[GridCell]:
    """One column's cells: appointment blocks (overlapping ones merged into one), then per
    row time off, an open slot starting in it, working time or not; runs of time off (with
    the same label), of closed time and of missing time share a cell."""
    cells: list[GridCell | None] = [None] * len(instants)
    for first, last, group in _blocks(instants, data.appointments):
        cells[first] = GridCell(BLOCK, rowspan=last - first + 1, appointments=tuple(group))
        for index in range(first + 1, last + 1):
            cells[index] = GridCell(COVERED)
    for index, moment in enumerate(instants):
        if cells[index] is None:
            cells[index] = _free_cell(moment, data)
    return _joined([cell for cell in cells if cell is not None])


def _blocks(instants: list[datetime | None], appointments: Iterable[AppointmentRow]
            ) -> list[tuple[int, int, list[AppointmentRow]]]:
    """The rows each appointment touches, as (first, last, appointments) with overlapping
    ones (an EHR may double-book) in one group."""
    spans = []
    for row in appointments:
        touched = [index for index, moment in enumerate(instants) if moment is not None
                   and moment < row.ends and moment + ROW > row.starts]
        if touched:
            spans.append((touched[0], touched[-1], row))
    groups: list[tuple[int, int, list[AppointmentRow]]] = []
    for first, last, row in sorted(spans, key=lambda span: (span[0], span[1])):
        if groups and first <= groups[-1][1]:
            start, end, members = groups[-1]
            groups[-1] = (start, max(end, last), [*members, row])
        else:
            groups.append((first, last, [row]))
    return groups


def _free_cell(moment: datetime | None, data: _ColumnData) -> GridCell:
    if moment is None:
        return GridCell(GAP)
    ends = moment + ROW
    for off in data.time_off:
        if off.starts < ends and off.ends > moment:
            return GridCell(OFF, label=off.label)
    if moment in data.open_slots:
        return GridCell(OPEN, slot=data.open_slots[moment])
    if any(s < ends and e > moment for s, e in data.working):
        return GridCell(EMPTY)
    return GridCell(CLOSED)


def _joined(cells: list[GridCell]) -> list[GridCell]:
    """Consecutive time-off cells with one label, closed cells and gap cells as one cell
    spanning their rows (the rest COVERED)."""
    result: list[GridCell] = []
    head = 0  # index in result of the cell the next one may join
    for cell in cells:
        previous = result[head] if result else None
        if (previous is not None and cell.kind in (OFF, CLOSED, GAP)
                and (previous.kind, previous.label) == (cell.kind, cell.label)
                and head + previous.rowspan == len(result)):
            result[head] = GridCell(previous.kind, rowspan=previous.rowspan + 1,
                                    label=previous.label)
            result.append(GridCell(COVERED))
        else:
            if cell.kind != COVERED:
                head = len(result)
            result.append(cell)
    return result
