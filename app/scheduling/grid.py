"""The staff calendar's grid geometry, without the database: a day as a column per provider,
a provider's week as a column per day, each column drawn from its appointments, open slots,
working time and time off.

The rows are 15 minutes of local wall-clock time, from the earliest working hour (or
appointment) of the columns to the latest. They are counted in real time, so on the day
clocks spring forward the skipped hour has no rows, and on the day they fall back the
repeated hour has two sets of rows, each marked with its UTC offset. In a week, a row that
does not exist on one of its days (the skipped hour) is a ``GAP`` cell there. Appointments
that overlap (an EHR may double-book) share one block; runs of time off with one label, of
closed time and of missing time share one cell (``rowspan``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.clock import local_to_utc
from app.practice.models import Provider
from app.scheduling.models import Appointment
from app.scheduling.slots import STEP_MINUTES, Slot

ROW = timedelta(minutes=STEP_MINUTES)  # one grid row; open slots start on its edges
# What a grid cell shows. COVERED cells lie under a block or run above them (rowspan) and
# are not drawn; GAP is a wall-clock time the day does not have (clocks sprang forward).
BLOCK, OPEN, OFF, EMPTY, CLOSED, GAP, COVERED = (
    "block", "open", "off", "empty", "closed", "gap", "covered")

Interval = tuple[datetime, datetime]
RowKey = tuple[time, int]  # local wall-clock time, fold (1: the second of a repeated time)


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


@dataclass
class ColumnData:
    """What one grid column is drawn from."""

    column: GridColumn
    appointments: list[AppointmentRow] = field(default_factory=list)
    open_slots: dict[datetime, SlotRow] = field(default_factory=dict)  # by UTC start
    working: list[Interval] = field(default_factory=list)
    time_off: list[TimeOff] = field(default_factory=list)


def build_grid(columns: list[ColumnData], zone: ZoneInfo) -> Grid:
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


def _wall_bounds(data: ColumnData, zone: ZoneInfo) -> tuple[int, int] | None:
    """The column's working time and appointments as local minutes since midnight, the start
    rounded down and the end up to a row; None when it has neither."""
    begins, ends = span(data.column.day, 1, zone)
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
            return midnight(day + timedelta(days=1), zone)
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


def _cells(instants: list[datetime | None], data: ColumnData) -> list[GridCell]:
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


def _free_cell(moment: datetime | None, data: ColumnData) -> GridCell:
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


def span(first: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``days`` local days from ``first``, as a UTC interval."""
    return midnight(first, zone), midnight(first + timedelta(days=days), zone)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of the local day, in UTC."""
    return local_to_utc(day, time(0), zone)
