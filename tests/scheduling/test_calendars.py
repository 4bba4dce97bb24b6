"""Calendar services: weekly hours (dated, per location), exceptions, offered types."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars, slots
from app.scheduling.calendars import CalendarInputError, WeeklyInterval
from app.scheduling.models import AppointmentType, ScheduleException, WorkingHours
from tests import factories

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 4, 1, tzinfo=UTC)
Setup = tuple[Practice, Location, Location, Provider, AppointmentType]


@pytest.fixture
def setup(practice: Practice) -> Setup:
    chicago = factories.make_location(practice, name="Chicago", timezone="America/Chicago")
    denver = factories.make_location(practice, name="Denver", timezone="America/Denver",
                                     state="CO")
    provider = factories.make_provider(practice, locations=[chicago, denver])
    kind = factories.make_appointment_type(practice, name="Exam", duration_minutes=60)
    kind.min_notice_minutes, kind.max_days_ahead = 0, 365
    _db.session.commit()
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    return practice, chicago, denver, provider, kind


def hours(setup: Setup, weekday: int, start: str, end: str, *, location: Location | None = None,
          valid_from: date | None = None, valid_until: date | None = None
          ) -> list[WorkingHours]:
    practice, chicago, _, provider, _ = setup
    return calendars.set_weekly_hours(
        practice_id=practice.id, provider_id=provider.id, location_id=(location or chicago).id,
        intervals=[WeeklyInterval(weekday, time.fromisoformat(start), time.fromisoformat(end))],
        valid_from=valid_from, valid_until=valid_until)


def first_and_last(setup: Setup, day: date) -> tuple[str, str] | None:
    _, chicago, _, _, kind = setup
    found = slots.find_open_slots(
        appointment_type_id=kind.id, location_id=chicago.id,
        start=datetime.combine(day, time(0), CHICAGO),
        end=datetime.combine(day + timedelta(days=1), time(0), CHICAGO), now=NOW)
    if not found:
        return None
    return tuple(f"{s.start.astimezone(CHICAGO):%H:%M}" for s in (found[0], found[-1]))


def test_setting_hours_replaces_the_old_ones_at_that_location(setup: Setup) -> None:
    hours(setup, 0, "08:00", "12:00")
    hours(setup, 0, "10:00", "14:00")

    assert first_and_last(setup, date(2026, 4, 6)) == ("10:00", "13:00")
    assert len(_db.session.execute(select(WorkingHours)).all()) == 1


def test_dated_hours_change_the_schedule_from_a_day_and_keep_the_rest(setup: Setup) -> None:
    hours(setup, 0, "08:00", "12:00")
    hours(setup, 0, "13:00", "17:00", valid_from=date(2026, 6, 1))
    hours(setup, 0, "09:00", "10:00", valid_from=date(2026, 7, 6), valid_until=date(2026, 7, 12))

    assert first_and_last(setup, date(2026, 5, 25)) == ("08:00", "11:00")
    assert first_and_last(setup, date(2026, 6, 1)) == ("13:00", "16:00")
    assert first_and_last(setup, date(2026, 7, 6)) == ("09:00", "09:00")
    assert first_and_last(setup, date(2026, 7, 13)) == ("13:00", "16:00")


def test_an_empty_list_clears_a_period(setup: Setup) -> None:
    practice, chicago, _, provider, _ = setup
    hours(setup, 0, "08:00", "12:00")
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=chicago.id, intervals=[],
                               valid_from=date(2026, 4, 6), valid_until=date(2026, 4, 6))

    assert first_and_last(setup, date(2026, 4, 6)) is None
    assert first_and_last(setup, date(2026, 4, 13)) == ("08:00", "11:00")


@pytest.mark.parametrize(("intervals", "field"), [
    ([WeeklyInterval(7, time(8), time(9))], "intervals[0].weekday"),
    ([WeeklyInterval(0, time(9), time(9))], "intervals[0].end_time"),
    ([WeeklyInterval(0, time(8), time(12)), WeeklyInterval(0, time(11), time(13))],
     "intervals[1]"),
])
def test_bad_intervals_are_refused_by_field(setup: Setup, intervals: list[WeeklyInterval],
                                           field: str) -> None:
    practice, chicago, _, provider, _ = setup
    with pytest.raises(CalendarInputError) as error:
        calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                                   location_id=chicago.id, intervals=intervals)
    assert set(error.value.errors) == {field}


def test_hours_may_not_overlap_hours_at_another_location_across_zones(setup: Setup) -> None:
    _, _, denver, _, _ = setup
    hours(setup, 1, "09:00", "12:00")  # Chicago: 14:00-17:00 UTC in April
    hours(setup, 1, "07:00", "08:00", location=denver)  # 13:00-14:00 UTC: fine

    with pytest.raises(CalendarInputError) as error:
        hours(setup, 1, "07:00", "08:30", location=denver)
    assert "Tuesday 09:00-12:00 at Chicago" in error.value.errors["intervals[0]"]
    # a period that has ended does not clash
    hours(setup, 2, "09:00", "12:00", valid_until=date(2026, 4, 30))
    hours(setup, 2, "08:00", "11:00", location=denver, valid_from=date(2026, 5, 1))


def test_hours_need_a_location_the_provider_works_at_and_a_sane_period(setup: Setup) -> None:
    practice, chicago, _, provider, _ = setup
    elsewhere = factories.make_location(practice, name="Evanston")
    with pytest.raises(CalendarInputError) as error:
        hours(setup, 0, "08:00", "12:00", location=elsewhere,
              valid_from=date(2026, 5, 1), valid_until=date(2026, 4, 1))
    assert set(error.value.errors) == {"location_id", "valid_until"}
    stranger = factories.make_practice(name="Other practice")
    with pytest.raises(CalendarInputError) as error:
        calendars.set_weekly_hours(practice_id=stranger.id, provider_id=provider.id,
                                   location_id=chicago.id, intervals=[])
    assert set(error.value.errors) == {"provider_id"}


def test_exceptions_are_checked_and_can_be_removed(setup: Setup) -> None:
    practice, chicago, denver, provider, _ = setup
    hours(setup, 0, "08:00", "12:00")
    monday = datetime(2026, 4, 6, 8, tzinfo=CHICAGO)
    time_off = calendars.add_time_off(practice_id=practice.id, provider_id=provider.id,
                                      starts_at=monday, ends_at=monday + timedelta(hours=4),
                                      label="  Dental   conference ")
    assert time_off.label == "Dental conference"
    assert first_and_last(setup, monday.date()) is None

    calendars.remove_exception(practice_id=practice.id, provider_id=provider.id,
                               exception_id=time_off.id)
    assert first_and_last(setup, monday.date()) == ("08:00", "11:00")
    with pytest.raises(calendars.ExceptionNotFound):
        calendars.remove_exception(practice_id=practice.id, provider_id=provider.id,
                                   exception_id=time_off.id)
    assert _db.session.execute(select(ScheduleException)).all() == []


@pytest.mark.parametrize(("change", "fields"), [
    ({"starts_at": datetime(2026, 4, 6, 8)}, {"starts_at"}),
    ({"ends_at": datetime(2026, 4, 6, 7, tzinfo=CHICAGO)}, {"ends_at"}),
    ({"ends_at": datetime(2026, 4, 7, 9, tzinfo=CHICAGO)}, {"ends_at"}),  # over a day
    ({"label": "x" * 121}, {"label"}),
    ({"location_id": None}, {"location_id"}),
    ({"location_id": "elsewhere"}, {"location_id"}),
])
def test_bad_extra_hours_are_refused_by_field(setup: Setup, change: dict, fields: set) -> None:
    practice, chicago, _, provider, _ = setup
    if change.get("location_id") == "elsewhere":
        change["location_id"] = factories.make_location(practice, name="Evanston").id
    arguments = {"practice_id": practice.id, "provider_id": provider.id,
                 "location_id": chicago.id, "starts_at": datetime(2026, 4, 6, 8, tzinfo=CHICAGO),
                 "ends_at": datetime(2026, 4, 6, 9, tzinfo=CHICAGO), **change}
    with pytest.raises(CalendarInputError) as error:
        calendars.add_extra_hours(**arguments)
    assert set(error.value.errors) == fields


def test_offered_types_are_replaced_and_unknown_ones_named(setup: Setup) -> None:
    practice, _, _, provider, kind = setup
    cleaning = factories.make_appointment_type(practice, name="Cleaning")
    foreign = factories.make_appointment_type(factories.make_practice(name="Other"))

    assert calendars.set_appointment_types(
        practice_id=practice.id, provider_id=provider.id,
        appointment_type_ids=[cleaning.id, cleaning.id]) == [cleaning.id]
    hours(setup, 0, "08:00", "12:00")
    assert first_and_last(setup, date(2026, 4, 6)) is None  # no longer offers the exam
    with pytest.raises(CalendarInputError) as error:
        calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                        appointment_type_ids=[kind.id, foreign.id])
    assert error.value.errors == {"appointment_type_ids": f"no such appointment type: {foreign.id}"}
