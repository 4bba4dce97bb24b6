"""The calendar's time grid (grid, fed by calendar_queries): rows of 15 minutes of local
wall-clock time, appointment blocks spanning their rows, open slots at their start, time off
with its label, time outside working hours closed; the days clocks change; a fixed number of
queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from app.extensions import db
from app.practice.models import Practice
from app.scheduling import calendar_queries, calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.grid import (
    BLOCK,
    CLOSED,
    COVERED,
    EMPTY,
    GAP,
    OFF,
    OPEN,
    Grid,
)
from tests import factories

NY = ZoneInfo("America/New_York")
SPRING_FORWARD = date(2027, 3, 14)  # a Sunday: 02:00 EST becomes 03:00 EDT
FALL_BACK = date(2027, 11, 7)  # a Sunday: 02:00 EDT becomes 01:00 EST
BEFORE = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # "now" for every test: all slots ahead


def at(day: date, hhmm: str, fold: int = 0) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=NY).replace(
        fold=fold).astimezone(UTC)


def labels(grid: Grid) -> list[str]:
    return [row.starts.strftime("%H:%M") + (f" {row.offset}" if row.offset else "")
            for row in grid.rows]


def column(grid: Grid, index: int) -> list[str]:
    return [row.cells[index].kind for row in grid.rows]


class Clinic:
    """A New York location; providers offer 30-minute exams."""

    def __init__(self, practice: Practice) -> None:
        self.practice = practice
        self.location = factories.make_location(practice, name="Manhattan",
                                                timezone="America/New_York")
        self.exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
        self.patient = factories.make_patient(practice, given_name="Lucia",
                                              family_name="Quintero")

    def provider(self, family_name: str, hours: list[WeeklyInterval]):  # noqa: ANN201
        provider = factories.make_provider(self.practice, locations=[self.location],
                                           family_name=family_name)
        calendars.set_appointment_types(practice_id=self.practice.id, provider_id=provider.id,
                                        appointment_type_ids=[self.exam.id])
        calendars.set_weekly_hours(practice_id=self.practice.id, provider_id=provider.id,
                                   location_id=self.location.id, intervals=hours)
        return provider

    def book(self, provider, starts: datetime, *, status: str = "booked"):  # noqa: ANN001, ANN201
        return factories.make_appointment(self.patient, provider, self.location,
                                          start_at=starts, appointment_type=self.exam,
                                          status=status)

    def day(self, day: date) -> Grid:
        return calendar_queries.day_view(practice_id=self.practice.id, location_id=self.location.id,
                                      appointment_type_id=self.exam.id, day=day,
                                      now=BEFORE).grid

    def week(self, day: date, provider_id: int | None) -> calendar_queries.WeekView:
        return calendar_queries.week_view(practice_id=self.practice.id,
                                       location_id=self.location.id,
                                       appointment_type_id=self.exam.id, day=day,
                                       provider_id=provider_id, now=BEFORE)


@pytest.fixture
def clinic(practice: Practice) -> Clinic:
    return Clinic(practice)


def weekdays(start: str, end: str) -> list[WeeklyInterval]:
    return [WeeklyInterval(d, time.fromisoformat(start), time.fromisoformat(end))
            for d in range(5)]


MONDAY = date(2027, 2, 1)


def test_rows_run_from_the_earliest_hour_to_the_latest_with_a_column_per_working_provider(
        clinic: Clinic) -> None:
    early = clinic.provider("Adams", weekdays("08:00", "10:00"))
    late = clinic.provider("Baker", weekdays("09:30", "11:00"))
    clinic.provider("Weekend", [WeeklyInterval(5, time(9), time(12))])  # not on Mondays

    grid = clinic.day(MONDAY)

    assert [c.provider.id for c in grid.columns] == [early.id, late.id]
    assert labels(grid)[0] == "08:00" and labels(grid)[-1] == "10:45"
    assert len(grid.rows) == 12
    assert column(grid, 1)[:6] == [CLOSED, COVERED, COVERED, COVERED, COVERED, COVERED]
    assert grid.rows[0].cells[1].rowspan == 6  # 08:00-09:30 before Baker starts
    assert column(grid, 0)[8:] == [CLOSED, COVERED, COVERED, COVERED]


def test_an_appointment_spans_its_rows_and_open_slots_sit_at_their_start(
        clinic: Clinic) -> None:
    rivera = clinic.provider("Rivera", weekdays("09:00", "11:00"))
    booked = clinic.book(rivera, at(MONDAY, "09:30"))

    cells = [row.cells[0] for row in clinic.day(MONDAY).rows]

    assert [c.kind for c in cells] == [OPEN, EMPTY, BLOCK, COVERED, OPEN, OPEN, OPEN, EMPTY]
    assert cells[2].rowspan == 2
    assert [a.appointment.id for a in cells[2].appointments] == [booked.id]
    assert cells[0].slot.slot.start == at(MONDAY, "09:00")
    assert [c.slot.starts.strftime("%H:%M") for c in cells if c.kind == OPEN] == [
        "09:00", "10:00", "10:15", "10:30"]


def test_overlapping_appointments_share_one_block(clinic: Clinic) -> None:
    rivera = clinic.provider("Rivera", weekdays("09:00", "11:00"))
    first = clinic.book(rivera, at(MONDAY, "09:00"))
    second = clinic.book(rivera, at(MONDAY, "09:15"))  # an EHR double-booked her
    third = clinic.book(rivera, at(MONDAY, "10:30"))

    cells = [row.cells[0] for row in clinic.day(MONDAY).rows]

    assert cells[0].kind == BLOCK and cells[0].rowspan == 3  # 09:00-09:45
    assert [a.appointment.id for a in cells[0].appointments] == [first.id, second.id]
    assert [c.kind for c in cells[1:3]] == [COVERED, COVERED]
    assert [a.appointment.id for a in cells[6].appointments] == [third.id]


def test_time_off_shows_its_label_and_an_appointment_outside_hours_widens_the_day(
        clinic: Clinic) -> None:
    rivera = clinic.provider("Rivera", weekdays("09:00", "11:00"))
    calendars.add_time_off(practice_id=clinic.practice.id, provider_id=rivera.id,
                           starts_at=at(MONDAY, "10:00"), ends_at=at(MONDAY, "11:00"),
                           label="Staff meeting")
    synced = clinic.book(rivera, at(MONDAY, "08:00"))  # from the EHR, before her hours

    grid = clinic.day(MONDAY)

    assert labels(grid)[0] == "08:00"
    cells = [row.cells[0] for row in grid.rows]
    assert cells[0].appointments[0].appointment.id == synced.id
    assert [c.kind for c in cells[2:4]] == [CLOSED, COVERED]  # 08:30-09:00
    assert (cells[8].kind, cells[8].rowspan, cells[8].label) == (OFF, 4, "Staff meeting")


def test_cancelled_appointments_are_left_off_and_free_their_time(clinic: Clinic) -> None:
    rivera = clinic.provider("Rivera", weekdays("09:00", "10:00"))
    clinic.book(rivera, at(MONDAY, "09:00"), status="cancelled")

    assert column(clinic.day(MONDAY), 0) == [OPEN, OPEN, OPEN, EMPTY]


def test_spring_forward_day_has_no_rows_for_the_skipped_hour(clinic: Clinic) -> None:
    night = clinic.provider("Night", [WeeklyInterval(6, time(0), time(4))])
    clinic.book(night, at(SPRING_FORWARD, "01:30"))  # 01:30-02:00 EST, then 03:00 EDT

    grid = clinic.day(SPRING_FORWARD)

    assert labels(grid) == ["00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30",
                            "01:45", "03:00", "03:15", "03:30", "03:45"]
    cells = [row.cells[0] for row in grid.rows]
    assert (cells[6].kind, cells[6].rowspan) == (BLOCK, 2)
    assert cells[8].kind == OPEN and cells[8].slot.slot.start == at(SPRING_FORWARD, "03:00")


def test_fall_back_day_shows_the_repeated_hour_twice_with_its_offset(clinic: Clinic) -> None:
    night = clinic.provider("Night", [WeeklyInterval(6, time(0), time(3))])
    second = clinic.book(night, at(FALL_BACK, "01:30", fold=1))  # 01:30 EST

    grid = clinic.day(FALL_BACK)

    assert labels(grid) == [
        "00:00", "00:15", "00:30", "00:45",
        "01:00 UTC-4", "01:15 UTC-4", "01:30 UTC-4", "01:45 UTC-4",
        "01:00 UTC-5", "01:15 UTC-5", "01:30 UTC-5", "01:45 UTC-5",
        "02:00", "02:15", "02:30", "02:45"]
    cells = [row.cells[0] for row in grid.rows]
    assert cells[6].kind == OPEN  # 01:30 EDT is free
    assert (cells[10].kind, cells[10].rowspan) == (BLOCK, 2)
    assert cells[10].appointments[0].appointment.id == second.id


def test_a_week_has_a_column_per_day_and_marks_the_skipped_hour_on_its_day(
        clinic: Clinic) -> None:
    night = clinic.provider("Night", [*weekdays("01:00", "03:00"),
                                      WeeklyInterval(6, time(1), time(4))])
    clinic.book(night, at(SPRING_FORWARD - timedelta(days=6), "02:00"))  # Monday

    view = clinic.week(SPRING_FORWARD, night.id)
    grid = view.grid

    assert grid is not None
    assert [c.day for c in grid.columns] == [SPRING_FORWARD - timedelta(days=6 - n)
                                             for n in range(7)]
    assert labels(grid)[0] == "01:00" and labels(grid)[-1] == "03:45"
    assert len(grid.rows) == 12  # the wall-clock times of the week, 02:00-02:45 included
    assert grid.rows[4].cells[0].kind == BLOCK  # Monday 02:00
    assert column(grid, 5) == [CLOSED] + [COVERED] * 11  # Saturday: not working
    sunday = column(grid, 6)
    assert sunday[4:8] == [GAP, COVERED, COVERED, COVERED]  # no 02:00 that Sunday
    assert sunday[8] == OPEN
    assert (view.days[0].booked, view.days[0].open) == (1, 4)  # Monday 01:00-01:30, 02:30


def test_a_week_with_the_fall_back_day_repeats_the_hour_only_where_it_happens(
        clinic: Clinic) -> None:
    night = clinic.provider("Night", [WeeklyInterval(d, time(0), time(3)) for d in range(7)])

    grid = clinic.week(FALL_BACK, night.id).grid

    assert grid is not None
    assert labels(grid)[4:12] == [
        "01:00 UTC-4", "01:15 UTC-4", "01:30 UTC-4", "01:45 UTC-4",
        "01:00 UTC-5", "01:15 UTC-5", "01:30 UTC-5", "01:45 UTC-5"]
    assert column(grid, 0)[8:12] == [GAP, COVERED, COVERED, COVERED]  # Monday: once only
    assert column(grid, 6)[4:12] == [OPEN] * 8  # Sunday: both


def test_the_location_week_counts_per_provider_and_day(clinic: Clinic) -> None:
    adams = clinic.provider("Adams", weekdays("09:00", "10:00"))
    baker = clinic.provider("Baker", weekdays("09:00", "10:00"))
    clinic.book(adams, at(MONDAY, "09:00"))
    clinic.book(baker, at(MONDAY + timedelta(days=1), "09:00"))

    view = clinic.week(MONDAY, None)

    assert view.grid is None
    counts = {week.provider.id: [(d.booked, d.open) for d in week.days[:3]]
              for week in view.per_provider}
    assert counts[adams.id] == [(1, 1), (0, 3), (0, 3)]
    assert counts[baker.id] == [(0, 3), (1, 1), (0, 3)]
    assert [(d.booked, d.open) for d in view.days[:2]] == [(1, 4), (1, 4)]


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_day_takes_the_same_queries_for_one_provider_or_many(clinic: Clinic) -> None:
    first = clinic.provider("Adams", weekdays("09:00", "12:00"))
    calendars.add_time_off(practice_id=clinic.practice.id, provider_id=first.id,
                           starts_at=at(MONDAY, "11:00"), ends_at=at(MONDAY, "12:00"))
    clinic.book(first, at(MONDAY, "09:00"))
    db.session.expire_all()
    with counted() as one:
        clinic.day(MONDAY)

    for name in ("Baker", "Chen", "Diaz"):
        more = clinic.provider(name, weekdays("09:00", "12:00"))
        calendars.add_time_off(practice_id=clinic.practice.id, provider_id=more.id,
                               starts_at=at(MONDAY, "11:00"), ends_at=at(MONDAY, "12:00"))
        for hhmm in ("09:00", "10:00"):
            clinic.book(more, at(MONDAY, hhmm))
    db.session.expire_all()
    with counted() as many:
        grid = clinic.day(MONDAY)

    assert len(grid.columns) == 4
    assert len(many) == len(one)
