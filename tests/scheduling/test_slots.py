"""The slot engine: working hours + extra hours − time off − booked time − buffers, in the
location's zone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, select

from app.extensions import db as _db
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars, open_time, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType, ScheduleException, WorkingHours
from tests import factories

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
MONDAY = date(2026, 3, 2)


@dataclass
class Clinic:
    practice: Practice
    location: Location
    other: Location
    provider: Provider
    kind: AppointmentType
    patient: Patient


def appointment_type(practice: Practice, *, minutes: int = 60, before: int = 0, after: int = 0,
                     notice: int = 0, days_ahead: int = 365, name: str = "Exam"
                     ) -> AppointmentType:
    kind = factories.make_appointment_type(practice, name=name, duration_minutes=minutes)
    kind.buffer_before_minutes, kind.buffer_after_minutes = before, after
    kind.min_notice_minutes, kind.max_days_ahead = notice, days_ahead
    _db.session.commit()
    return kind


def provider_offering(clinic: Clinic, *kinds: AppointmentType,
                      locations: list[Location] | None = None) -> Provider:
    provider = factories.make_provider(clinic.practice,
                                       locations=locations or [clinic.location])
    calendars.set_appointment_types(practice_id=clinic.practice.id, provider_id=provider.id,
                                    appointment_type_ids=[k.id for k in kinds or [clinic.kind]])
    return provider


def work(clinic: Clinic, provider: Provider, days: dict[int, list[tuple[str, str]]], *,
         location: Location | None = None) -> None:
    calendars.set_weekly_hours(
        practice_id=clinic.practice.id, provider_id=provider.id,
        location_id=(location or clinic.location).id,
        intervals=[WeeklyInterval(weekday, time.fromisoformat(start), time.fromisoformat(end))
                   for weekday, spans in days.items() for start, end in spans])


def book(clinic: Clinic, provider: Provider, start: datetime, *,
         kind: AppointmentType | None = None, location: Location | None = None,
         status: str = "booked") -> Appointment:
    return factories.make_appointment(clinic.patient, provider, location or clinic.location,
                                      start_at=start.astimezone(UTC),
                                      appointment_type=kind or clinic.kind, status=status)


def at(day: date, hhmm: str, zone: ZoneInfo = NY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=zone)


def find(clinic: Clinic, day: date, *, days: int = 1, kind: AppointmentType | None = None,
         provider: Provider | None = None, location: Location | None = None,
         now: datetime = NOW, **options: object) -> list[slots.Slot]:
    return slots.find_open_slots(
        appointment_type_id=(kind or clinic.kind).id, location_id=(location or clinic.location).id,
        provider_id=provider.id if provider else None, start=at(day, "00:00"),
        end=at(day + timedelta(days=days), "00:00"), now=now, **options)


def starts(found: list[slots.Slot], zone: ZoneInfo = NY) -> list[str]:
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in found]


@pytest.fixture
def clinic(practice: Practice) -> Clinic:
    location = factories.make_location(practice, name="Manhattan", timezone="America/New_York")
    other = factories.make_location(practice, name="Brooklyn", timezone="America/New_York")
    kind = appointment_type(practice)
    clinic = Clinic(practice, location, other, None, kind,  # type: ignore[arg-type]
                    factories.make_patient(practice))
    clinic.provider = provider_offering(clinic, kind, locations=[location, other])
    return clinic


def test_slots_fill_working_hours_on_the_local_grid_and_skip_lunch(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "12:00"), ("13:00", "14:30")]})

    found = find(clinic, MONDAY)

    assert starts(found) == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30",
                             "10:45", "11:00", "13:00", "13:15", "13:30"]
    assert all(slot.end - slot.start == timedelta(minutes=60) for slot in found)
    assert {(s.provider_id, s.location_id, s.appointment_type_id) for s in found} == {
        (clinic.provider.id, clinic.location.id, clinic.kind.id)}
    assert find(clinic, MONDAY + timedelta(days=1)) == []  # no Tuesday hours


def test_buffers_fit_inside_working_hours_and_clear_other_appointments(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "13:00")]})
    booked_kind = appointment_type(clinic.practice, minutes=60, after=10, name="Filling")
    book(clinic, clinic.provider, at(MONDAY, "10:00"), kind=booked_kind)  # blocks 10:00-11:10
    buffered = appointment_type(clinic.practice, minutes=30, before=15, after=15, name="Surgery")
    calendars.set_appointment_types(practice_id=clinic.practice.id,
                                    provider_id=clinic.provider.id,
                                    appointment_type_ids=[clinic.kind.id, buffered.id])

    # 09:15 leaves its 15-minute setup inside the day; 09:30 would run its clean-up into
    # 10:00; after the filling's 10-minute clean-up, 11:25 is the first start, 11:30 on grid.
    assert starts(find(clinic, MONDAY, kind=buffered)) == [
        "09:15", "11:30", "11:45", "12:00", "12:15"]
    assert starts(find(clinic, MONDAY)) == ["09:00", "11:15", "11:30", "11:45", "12:00"]


def test_time_off_removes_time_and_extra_hours_add_it(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "12:00")]})
    calendars.add_time_off(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                           starts_at=at(MONDAY, "10:00"), ends_at=at(MONDAY, "11:00"))
    calendars.add_time_off(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                           location_id=clinic.other.id, starts_at=at(MONDAY, "11:00"),
                           ends_at=at(MONDAY, "12:00"))  # at the other location only
    saturday = MONDAY + timedelta(days=5)
    calendars.add_extra_hours(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                              location_id=clinic.location.id, starts_at=at(saturday, "08:00"),
                              ends_at=at(saturday, "09:30"))
    calendars.add_extra_hours(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                              location_id=clinic.other.id, starts_at=at(saturday, "13:00"),
                              ends_at=at(saturday, "15:00"))

    assert starts(find(clinic, MONDAY)) == ["09:00", "11:00"]
    assert starts(find(clinic, saturday)) == ["08:00", "08:15", "08:30"]
    assert starts(find(clinic, saturday, location=clinic.other)) == [
        "13:00", "13:15", "13:30", "13:45", "14:00"]


def test_extra_hours_next_to_working_hours_make_one_stretch(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "12:00")]})
    calendars.add_extra_hours(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                              location_id=clinic.location.id, starts_at=at(MONDAY, "12:00"),
                              ends_at=at(MONDAY, "12:30"))

    assert starts(find(clinic, MONDAY))[-3:] == ["11:00", "11:15", "11:30"]


def test_spring_forward_keeps_nine_oclock_local_and_skips_the_missing_hour(clinic: Clinic
                                                                           ) -> None:
    sunday = date(2026, 3, 8)  # 02:00 EST jumps to 03:00 EDT
    work(clinic, clinic.provider, {6: [("01:00", "04:00"), ("09:00", "10:00")]})

    before, change = find(clinic, sunday - timedelta(days=7)), find(clinic, sunday)

    assert starts(change) == ["01:00", "01:15", "01:30", "01:45", "03:00", "09:00"]
    assert starts(before)[-1] == starts(change)[-1] == "09:00"
    assert before[-1].start.hour == 14 and change[-1].start.hour == 13  # UTC
    assert [s.start.astimezone(UTC).strftime("%H:%M") for s in change][3:5] == ["06:45", "07:00"]


def test_fall_back_day_offers_the_repeated_hour_once_per_real_hour(clinic: Clinic) -> None:
    sunday = date(2026, 11, 1)  # 02:00 EDT falls back to 01:00 EST
    work(clinic, clinic.provider, {6: [("00:00", "03:00"), ("09:00", "10:00")]})
    now = datetime(2026, 10, 1, tzinfo=UTC)

    before, change = find(clinic, sunday - timedelta(days=7), now=now), find(clinic, sunday,
                                                                             now=now)

    # 00:00 EDT to 03:00 EST is four real hours: 13 one-hour starts, 01:xx twice.
    assert len(change) == 13 + 1
    assert starts(change)[:13] == ["00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30",
                                   "01:45", "01:00", "01:15", "01:30", "01:45", "02:00"]
    assert starts(before)[-1] == starts(change)[-1] == "09:00"
    assert before[-1].start.hour == 13 and change[-1].start.hour == 14  # UTC


def test_a_booking_at_one_location_blocks_the_provider_at_every_other(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "12:00")]}, location=clinic.other)
    book(clinic, clinic.provider, at(MONDAY, "10:00"), location=clinic.location)

    assert starts(find(clinic, MONDAY, location=clinic.other)) == ["09:00", "11:00"]


def test_min_notice_and_max_days_ahead_count_from_now(clinic: Clinic) -> None:
    kind = appointment_type(clinic.practice, minutes=60, notice=120, days_ahead=7, name="Visit")
    calendars.set_appointment_types(practice_id=clinic.practice.id,
                                    provider_id=clinic.provider.id, appointment_type_ids=[kind.id])
    work(clinic, clinic.provider, {0: [("09:00", "12:00")]})
    monday = date(2026, 3, 16)
    now = at(monday, "08:40").astimezone(UTC)

    assert starts(find(clinic, monday, kind=kind, now=now)) == ["10:45", "11:00"]
    three_weeks = find(clinic, monday, days=21, kind=kind, now=now)
    assert {slot.start.date() for slot in three_weeks} == {monday}  # next Monday is 7 days on


def test_any_provider_merges_orders_and_leaves_out_who_cannot_take_it(clinic: Clinic) -> None:
    second = provider_offering(clinic, clinic.kind)
    not_offering = provider_offering(clinic, appointment_type(clinic.practice, name="Cleaning"))
    elsewhere = provider_offering(clinic, clinic.kind, locations=[clinic.other])
    inactive = provider_offering(clinic, clinic.kind)
    for provider in (clinic.provider, second, not_offering, inactive):
        work(clinic, provider, {0: [("09:00", "11:00")]})
    work(clinic, elsewhere, {0: [("09:00", "11:00")]}, location=clinic.other)
    inactive.active = False
    _db.session.commit()
    book(clinic, second, at(MONDAY, "09:00"))

    found = find(clinic, MONDAY)

    first, other = clinic.provider.id, second.id
    assert [(s.start.astimezone(NY).strftime("%H:%M"), s.provider_id) for s in found] == [
        ("09:00", first), ("09:15", first), ("09:30", first), ("09:45", first),
        ("10:00", first), ("10:00", other)]
    assert find(clinic, MONDAY, limit=2) == found[:2]
    assert find(clinic, MONDAY, provider=second) == found[-1:]


def test_first_slots_are_found_across_days_until_the_limit(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "10:00")], 2: [("09:00", "10:00")]})

    found = find(clinic, MONDAY, days=30, limit=3)

    assert [(slot.start.date(), starts([slot])[0]) for slot in found] == [
        (MONDAY, "09:00"), (MONDAY + timedelta(days=2), "09:00"), (MONDAY + timedelta(days=7),
                                                                   "09:00")]


@pytest.mark.parametrize(("status", "holds"), [
    ("proposed", True), ("pending", True), ("booked", True), ("arrived", True),
    ("checked-in", True), ("fulfilled", True), ("cancelled", False), ("noshow", False),
    ("entered-in-error", False)])
def test_only_live_appointments_hold_time(clinic: Clinic, status: str, holds: bool) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "10:00")]})
    book(clinic, clinic.provider, at(MONDAY, "09:00"), status=status)

    assert (find(clinic, MONDAY) == []) is holds


def test_rescheduling_ignores_the_appointment_being_moved(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "11:00")]})
    moving = book(clinic, clinic.provider, at(MONDAY, "09:30"))

    assert starts(find(clinic, MONDAY)) == []
    assert starts(find(clinic, MONDAY, exclude_appointment_id=moving.id)) == [
        "09:00", "09:15", "09:30", "09:45", "10:00"]


def test_slot_is_open_agrees_with_the_search(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "12:00")]})
    slot = find(clinic, MONDAY)[0]
    off_grid = replace(slot, start=slot.start + timedelta(minutes=5),
                       end=slot.end + timedelta(minutes=5))

    assert slots.slot_is_open(slot=slot, now=NOW)
    assert not slots.slot_is_open(slot=off_grid, now=NOW)
    taken = book(clinic, clinic.provider, at(MONDAY, "09:30"))
    assert not slots.slot_is_open(slot=slot, now=NOW)
    assert slots.slot_is_open(slot=slot, now=NOW, exclude_appointment_id=taken.id)
    assert not slots.slot_is_open(slot=slot, now=slot.start + timedelta(minutes=1))


def test_an_inactive_type_has_no_slots(clinic: Clinic) -> None:
    work(clinic, clinic.provider, {0: [("09:00", "12:00")]})
    clinic.kind.active = False
    _db.session.commit()

    assert find(clinic, MONDAY) == []


def test_several_types_in_one_pass_give_each_type_its_own_slots_from_three_queries(
        clinic: Clinic) -> None:
    """``open_slots_by_type`` (the FHIR Slot search's engine call) answers, per type, what
    ``find_open_slots`` answers for that type alone: buffers, notice, horizon, inactive types,
    who offers which type, time off, extra hours and bookings at another location."""
    late = appointment_type(clinic.practice, minutes=45, before=10, after=5, notice=600,
                            name="Filling")
    short = appointment_type(clinic.practice, minutes=30, days_ahead=3, name="Check")
    retired = appointment_type(clinic.practice, minutes=30, name="Retired")
    retired.active = False
    _db.session.commit()
    calendars.set_appointment_types(
        practice_id=clinic.practice.id, provider_id=clinic.provider.id,
        appointment_type_ids=[clinic.kind.id, late.id, short.id, retired.id])
    second = provider_offering(clinic, short)
    work(clinic, clinic.provider, {0: [("09:00", "12:00"), ("13:00", "17:00")],
                                   2: [("08:00", "12:00")], 4: [("09:00", "15:00")]})
    work(clinic, second, {0: [("10:00", "16:00")], 1: [("09:00", "12:00")]})
    calendars.add_time_off(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                           starts_at=at(MONDAY, "14:00"), ends_at=at(MONDAY, "15:30"))
    calendars.add_extra_hours(practice_id=clinic.practice.id, provider_id=second.id,
                              location_id=clinic.location.id,
                              starts_at=at(MONDAY + timedelta(days=5), "09:00"),
                              ends_at=at(MONDAY + timedelta(days=5), "11:00"))
    book(clinic, clinic.provider, at(MONDAY, "10:00"), kind=late)
    book(clinic, clinic.provider, at(MONDAY + timedelta(days=2), "09:00"),
         location=clinic.other)
    book(clinic, second, at(MONDAY + timedelta(days=1), "10:30"), kind=short)
    kinds = [clinic.kind, late, short, retired]
    type_ids, location_id = [kind.id for kind in kinds], clinic.location.id
    for row in (*kinds, clinic.location):
        _db.session.refresh(row)  # loaded, as the caller's rows are
    start, end = at(MONDAY, "00:00"), at(MONDAY + timedelta(days=7), "00:00")
    now = at(MONDAY, "08:00").astimezone(UTC)
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))

    for provider in (None, clinic.provider, second):
        provider_id = provider.id if provider else None
        statements.clear()
        event.listen(_db.engine, "before_cursor_execute", listen)
        try:
            together = slots.open_slots_by_type(
                appointment_types=kinds, location=clinic.location, provider_id=provider_id,
                start=start, end=end, now=now)
        finally:
            event.remove(_db.engine, "before_cursor_execute", listen)

        assert len(statements) == 3
        for type_id in type_ids:
            assert together[type_id] == slots.find_open_slots(
                appointment_type_id=type_id, location_id=location_id,
                provider_id=provider_id, start=start, end=end, now=now)
    assert together[retired.id] == [] and together[short.id] != []
    assert {slot.provider_id for slot in slots.open_slots_by_type(
        appointment_types=[short], location=clinic.location, start=start,
        end=end, now=now)[short.id]} == {clinic.provider.id, second.id}
    foreign = factories.make_location(factories.make_practice(name="Elsewhere"))
    with pytest.raises(slots.InvalidSlotQuery, match="another practice"):
        slots.open_slots_by_type(appointment_types=kinds, location=foreign, start=start,
                                 end=end, now=now)


def test_exceptions_the_caller_read_give_the_same_slots_from_two_queries(
        clinic: Clinic) -> None:
    """A calendar's exceptions read by the caller around the window (``exception_reach``, as
    the FHIR Slot search's calendar query reads them) stand for the engine's own query:
    time off here or everywhere, extra hours here, not another location's, not too far."""
    short = appointment_type(clinic.practice, minutes=30, name="Check")
    calendars.set_appointment_types(practice_id=clinic.practice.id,
                                    provider_id=clinic.provider.id,
                                    appointment_type_ids=[clinic.kind.id, short.id])
    work(clinic, clinic.provider, {0: [("09:00", "12:00")], 1: [("09:00", "12:00")]})
    for starts_at, ends_at, location in (
            (at(MONDAY, "10:00"), at(MONDAY, "10:30"), None),  # time off everywhere
            (at(MONDAY, "13:00"), at(MONDAY, "15:00"), clinic.location),  # extra hours here
            (at(MONDAY, "16:00"), at(MONDAY, "18:00"), clinic.other),  # extra hours there
            (at(MONDAY + timedelta(days=1), "08:00"), at(MONDAY + timedelta(days=1), "09:30"),
             clinic.location)):  # extra hours joining Tuesday's
        add = calendars.add_time_off if location is None else calendars.add_extra_hours
        add(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
            location_id=location.id if location else None, starts_at=starts_at,
            ends_at=ends_at, **({} if location is None else {"label": None}))
    calendars.add_time_off(practice_id=clinic.practice.id, provider_id=clinic.provider.id,
                           location_id=clinic.other.id, starts_at=at(MONDAY, "11:00"),
                           ends_at=at(MONDAY, "11:30"))  # time off at the other location
    _db.session.commit()
    kinds = [clinic.kind, short]
    for row in (*kinds, clinic.location, clinic.provider):
        _db.session.refresh(row)  # loaded, as the caller's rows are
    start, end = at(MONDAY, "00:00"), at(MONDAY + timedelta(days=2), "00:00")
    low, high = open_time.exception_reach(start, end)
    rows = list(_db.session.execute(select(ScheduleException).where(
        ScheduleException.starts_at < high, ScheduleException.ends_at > low)).scalars())
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))

    def answer(exceptions: list[ScheduleException] | None) -> dict[int, list[slots.Slot]]:
        statements.clear()
        event.listen(_db.engine, "before_cursor_execute", listen)
        try:
            return slots.open_slots_by_type(
                appointment_types=kinds, location=clinic.location,
                provider_id=clinic.provider.id, start=start, end=end, now=NOW,
                exceptions=exceptions)
        finally:
            event.remove(_db.engine, "before_cursor_execute", listen)

    read_by_engine, first = answer(None), list(statements)
    given = answer(rows)

    assert (len(first), len(statements)) == (3, 2), first
    assert given == read_by_engine
    assert starts(given[clinic.kind.id]) == [
        "09:00", "10:30", "10:45", "11:00", "13:00", "13:15", "13:30", "13:45", "14:00",
        "08:00", "08:15", "08:30", "08:45", "09:00", "09:15", "09:30", "09:45", "10:00",
        "10:15", "10:30", "10:45", "11:00"]
    assert answer([]) != read_by_engine  # the rows given are the ones used


@pytest.mark.parametrize(("change", "field"), [
    ({"start": datetime(2026, 3, 2)}, "start"),
    ({"end": datetime(2026, 3, 1, tzinfo=UTC)}, "end"),
    ({"limit": 0}, "limit"),
    ({"step_minutes": 7}, "step_minutes"),
    ({"appointment_type_id": 999_999}, "appointment_type_id"),
    ({"location_id": 999_999}, "location_id"),
])
def test_bad_arguments_name_the_field(clinic: Clinic, change: dict, field: str) -> None:
    arguments = {"appointment_type_id": clinic.kind.id, "location_id": clinic.location.id,
                 "start": at(MONDAY, "00:00"), "end": at(MONDAY, "23:00"), "now": NOW,
                 **change}
    with pytest.raises(slots.InvalidSlotQuery) as error:
        slots.find_open_slots(**arguments)
    assert error.value.field == field


def test_a_location_of_another_practice_is_refused(clinic: Clinic) -> None:
    foreign = factories.make_location(factories.make_practice(name="Elsewhere"))
    with pytest.raises(slots.InvalidSlotQuery, match="another practice"):
        find(clinic, MONDAY, location=foreign)


QUARTER_HOURS = st.integers(min_value=4 * 5, max_value=4 * 22)  # 05:00 to 22:00


def _minutes(start: datetime, end: datetime) -> set[int]:
    first = int(start.timestamp()) // 60
    return set(range(first, first + int((end - start).total_seconds()) // 60))


@st.composite
def schedules(draw: st.DrawFn) -> dict:
    day = draw(st.sampled_from([date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 10),
                                date(2026, 11, 1)]))
    edges = sorted(draw(st.sets(QUARTER_HOURS, min_size=2, max_size=4)))
    spans = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]
    moment = st.builds(lambda q, extra: at(day, "00:00") + timedelta(minutes=15 * q + extra),
                       QUARTER_HOURS, st.sampled_from([0, 5, 10]))
    return {
        "day": day, "spans": spans,
        "booked": draw(st.lists(st.tuples(moment, st.integers(0, 2),
                                          st.sampled_from(["booked", "cancelled", "fulfilled"])),
                                max_size=5)),
        "time_off": draw(st.lists(st.tuples(moment, st.integers(1, 12)), max_size=2)),
        "extra": draw(st.lists(st.tuples(moment, st.integers(1, 12)), max_size=1)),
        "duration": draw(st.sampled_from([15, 30, 45, 60, 90])),
        "before": draw(st.sampled_from([0, 5, 15])), "after": draw(st.sampled_from([0, 10])),
    }


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules())
def test_slots_are_exactly_the_grid_times_whose_buffered_span_is_free(clinic: Clinic,
                                                                      schedule: dict) -> None:
    for model in (Appointment, ScheduleException, WorkingHours):
        _db.session.execute(delete(model))
    _db.session.commit()
    kinds = [appointment_type(clinic.practice, minutes=m, before=b, after=a, name=f"Kind {m}")
             for m, b, a in ((30, 0, 0), (45, 10, 5), (60, 0, 15))]
    day, provider = schedule["day"], clinic.provider
    clinic.kind.duration_minutes = schedule["duration"]
    clinic.kind.buffer_before_minutes = schedule["before"]
    clinic.kind.buffer_after_minutes = schedule["after"]
    _db.session.commit()
    midnight = at(day, "00:00")
    work(clinic, provider, {day.weekday(): [
        ((midnight + timedelta(minutes=15 * s)).strftime("%H:%M"),
         (midnight + timedelta(minutes=15 * e)).strftime("%H:%M")) for s, e in schedule["spans"]]})
    open_minutes: set[int] = set()
    for start, end in schedule["spans"]:
        open_minutes |= _minutes(at(day, f"{start // 4:02d}:{start % 4 * 15:02d}"),
                                 at(day, f"{end // 4:02d}:{end % 4 * 15:02d}"))
    for start, quarters in schedule["extra"]:
        calendars.add_extra_hours(practice_id=clinic.practice.id, provider_id=provider.id,
                                  location_id=clinic.location.id, starts_at=start,
                                  ends_at=start + timedelta(minutes=15 * quarters))
        open_minutes |= _minutes(start, start + timedelta(minutes=15 * quarters))
    for start, quarters in schedule["time_off"]:
        calendars.add_time_off(practice_id=clinic.practice.id, provider_id=provider.id,
                               starts_at=start, ends_at=start + timedelta(minutes=15 * quarters))
        open_minutes -= _minutes(start, start + timedelta(minutes=15 * quarters))
    for start, which, status in schedule["booked"]:
        kind = kinds[which]
        book(clinic, provider, start, kind=kind, location=clinic.other, status=status)
        if status != "cancelled":
            open_minutes -= _minutes(
                start - timedelta(minutes=kind.buffer_before_minutes),
                start + timedelta(minutes=kind.duration_minutes + kind.buffer_after_minutes))

    found = find(clinic, day)

    before, after = timedelta(minutes=schedule["before"]), timedelta(minutes=schedule["after"])
    expected = []
    moment = midnight.astimezone(UTC)
    while moment < at(day + timedelta(days=1), "00:00"):
        end = moment + timedelta(minutes=schedule["duration"])
        if (moment.astimezone(NY).minute % 15 == 0
                and _minutes(moment - before, end + after) <= open_minutes):
            expected.append((moment, end))
        moment += timedelta(minutes=5)
    assert [(slot.start, slot.end) for slot in found] == expected
