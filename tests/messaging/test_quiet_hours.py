"""Quiet hours (47 CFR 64.1200(c)(1) as policy): deferred to the next window, never dropped."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.messaging.quiet_hours import STATE_WINDOWS, next_allowed_send_time, wall_clock_instants

NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


@pytest.mark.parametrize(("tz", "due", "expected"), [
    # New York, spring forward 2026-03-08 (02:00 EST -> 03:00 EDT): 08:00 is 12:00 UTC
    (NY, local(NY, 2026, 3, 8, 7, 30), utc(2026, 3, 8, 12, 0)),
    (NY, utc(2026, 3, 8, 11, 59), utc(2026, 3, 8, 12, 0)),
    (NY, utc(2026, 3, 8, 12, 0), utc(2026, 3, 8, 12, 0)),
    (NY, local(NY, 2026, 3, 8, 1, 30), utc(2026, 3, 8, 12, 0)),
    (NY, local(NY, 2026, 3, 7, 23, 30), utc(2026, 3, 8, 12, 0)),
    (NY, local(NY, 2026, 3, 7, 20, 59), local(NY, 2026, 3, 7, 20, 59)),
    # New York, fall back 2026-11-01 (02:00 EDT -> 01:00 EST): 08:00 is 13:00 UTC
    (NY, local(NY, 2026, 11, 1, 7, 30), utc(2026, 11, 1, 13, 0)),
    (NY, local(NY, 2026, 11, 1, 1, 30, fold=0), utc(2026, 11, 1, 13, 0)),
    (NY, local(NY, 2026, 11, 1, 1, 30, fold=1), utc(2026, 11, 1, 13, 0)),
    (NY, local(NY, 2026, 10, 31, 22, 0), utc(2026, 11, 1, 13, 0)),
    (NY, local(NY, 2026, 11, 1, 21, 0), utc(2026, 11, 2, 13, 0)),
    # Los Angeles (PDT in June, PST in January)
    ("America/Los_Angeles", utc(2026, 6, 1, 14, 0), utc(2026, 6, 1, 15, 0)),
    ("America/Los_Angeles", utc(2026, 1, 15, 14, 30), utc(2026, 1, 15, 16, 0)),
    ("America/Los_Angeles", utc(2026, 1, 16, 4, 59), utc(2026, 1, 16, 4, 59)),  # 20:59 PST
    ("America/Los_Angeles", utc(2026, 1, 16, 5, 0), utc(2026, 1, 16, 16, 0)),   # 21:00 PST
    # Phoenix keeps MST all year, even while the rest of the US shifts
    ("America/Phoenix", utc(2026, 3, 8, 14, 0), utc(2026, 3, 8, 15, 0)),
    ("America/Phoenix", utc(2026, 7, 1, 14, 0), utc(2026, 7, 1, 15, 0)),
    ("America/Phoenix", utc(2026, 11, 1, 14, 0), utc(2026, 11, 1, 15, 0)),
    # Honolulu, HST (UTC-10), no DST
    ("Pacific/Honolulu", utc(2026, 3, 9, 3, 0), utc(2026, 3, 9, 3, 0)),         # 17:00
    ("Pacific/Honolulu", utc(2026, 3, 9, 8, 0), utc(2026, 3, 9, 18, 0)),        # 22:00
    ("Pacific/Honolulu", utc(2026, 11, 1, 13, 0), utc(2026, 11, 1, 18, 0)),     # 03:00
    # Chicago, after the fall-back transition (07:00 UTC)
    ("America/Chicago", utc(2026, 11, 1, 12, 0), utc(2026, 11, 1, 14, 0)),
    ("America/Chicago", utc(2026, 3, 8, 12, 0), utc(2026, 3, 8, 13, 0)),
])
def test_deferred_to_the_next_window_start(tz, due, expected):
    result = next_allowed_send_time(due, tz=tz)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(("tz", "expected"), [
    (NY, utc(2026, 1, 15, 14, 30)),                   # 09:30 EST: goes now
    ("America/Chicago", utc(2026, 1, 15, 14, 30)),    # 08:30 CST: goes now
    ("America/Phoenix", utc(2026, 1, 15, 15, 0)),     # 07:30 MST
    ("America/Los_Angeles", utc(2026, 1, 15, 16, 0)),  # 06:30 PST
    ("Pacific/Honolulu", utc(2026, 1, 15, 18, 0)),    # 04:30 HST
])
def test_one_campaign_instant_lands_differently_per_zone(tz, expected):
    assert next_allowed_send_time(utc(2026, 1, 15, 14, 30), tz=tz) == expected


@pytest.mark.parametrize(("state", "due_local", "expected_local"), [
    ("FL", (2026, 5, 4, 20, 30), (2026, 5, 5, 8, 0)),
    ("fl", (2026, 5, 4, 20, 0), (2026, 5, 5, 8, 0)),
    ("FL", (2026, 5, 4, 19, 59), (2026, 5, 4, 19, 59)),
    ("OK", (2026, 5, 4, 20, 15), (2026, 5, 5, 8, 0)),
    ("MD", (2026, 5, 4, 20, 15), (2026, 5, 5, 8, 0)),
    ("WA", (2026, 5, 4, 20, 15), (2026, 5, 5, 8, 0)),
    ("CT", (2026, 5, 4, 8, 30), (2026, 5, 4, 9, 0)),
    ("NY", (2026, 5, 4, 20, 30), (2026, 5, 4, 20, 30)),  # no stricter rule: federal window
    ("ZZ", (2026, 5, 4, 20, 30), (2026, 5, 4, 20, 30)),
    (None, (2026, 5, 4, 20, 30), (2026, 5, 4, 20, 30)),
])
def test_state_rules_narrow_the_window(state, due_local, expected_local):
    due = local(NY, *due_local)
    assert next_allowed_send_time(due, tz=NY, state=state) == local(NY, *expected_local)


def test_practice_window_and_state_rule_combine_to_the_stricter_of_both():
    due = local(NY, 2026, 5, 4, 8, 30)
    result = next_allowed_send_time(due, tz=NY, start=time(8), end=time(17), state="CT")
    assert result == local(NY, 2026, 5, 4, 9, 0)
    late = local(NY, 2026, 5, 4, 17, 0)
    assert next_allowed_send_time(late, tz=NY, start=time(8), end=time(17), state="FL") == local(
        NY, 2026, 5, 5, 8, 0)


def test_an_aware_non_utc_input_is_accepted_and_answered_in_utc():
    due = datetime(2026, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert next_allowed_send_time(due, tz=NY) == utc(2026, 1, 15, 13, 0)


def test_a_window_start_inside_the_spring_forward_gap_opens_when_the_gap_ends():
    due = local(NY, 2026, 3, 8, 1, 15)
    assert next_allowed_send_time(due, tz=NY, start=time(2, 30)) == utc(2026, 3, 8, 7, 0)


def test_a_window_start_repeated_by_fall_back_opens_at_the_next_occurrence():
    first_pass = local(NY, 2026, 11, 1, 1, 15, fold=0)   # 05:15 UTC
    second_pass = local(NY, 2026, 11, 1, 1, 15, fold=1)  # 06:15 UTC
    assert next_allowed_send_time(first_pass, tz=NY, start=time(1, 30)) == utc(2026, 11, 1, 5, 30)
    # 01:30 EDT has passed; the clock reads 01:30 again at 06:30 UTC and the window opens.
    assert next_allowed_send_time(second_pass, tz=NY, start=time(1, 30)) == utc(2026, 11, 1, 6, 30)


def test_wall_clock_instants_across_dst():
    zone = ZoneInfo(NY)
    assert wall_clock_instants(date(2026, 3, 8), time(8), zone) == [utc(2026, 3, 8, 12)]
    assert wall_clock_instants(date(2026, 3, 8), time(2, 30), zone) == [utc(2026, 3, 8, 7)]
    assert wall_clock_instants(date(2026, 11, 1), time(1, 30), zone) == [
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"due_utc": datetime(2026, 1, 1, 12, 0), "tz": NY}, "due_utc must be a timezone-aware"),
    ({"due_utc": utc(2026, 1, 1, 12), "tz": "Mars/Olympus"}, "tz='Mars/Olympus'"),
    ({"due_utc": utc(2026, 1, 1, 12), "tz": NY, "start": time(21), "end": time(8)},
     "must be before end"),
    ({"due_utc": utc(2026, 1, 1, 12), "tz": NY, "start": time(20, 30), "state": "FL"},
     "no time to send in state='FL'"),
])
def test_bad_input_is_a_clear_value_error(kwargs, message):
    due = kwargs.pop("due_utc")
    with pytest.raises(ValueError, match=message):
        next_allowed_send_time(due, **kwargs)


ZONES = [NY, "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
         "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "America/Havana",
         "Europe/London", "Australia/Lord_Howe"]
MINUTES = st.integers(min_value=0, max_value=24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@given(
    due=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                     timezones=st.just(UTC)),
    tz=st.sampled_from(ZONES),
    bounds=st.tuples(MINUTES, MINUTES).filter(lambda pair: pair[0] < pair[1]),
    state=st.sampled_from([None, "TX", *STATE_WINDOWS]),
)
def test_result_is_the_first_allowed_instant_at_or_after_due(due, tz, bounds, state):
    start, end = bounds
    rule = STATE_WINDOWS.get(state or "", (time.min, time.max))
    start, end = max(start, rule[0]), min(end, rule[1])
    if start >= end:
        return
    zone = ZoneInfo(tz)

    def allowed(instant: datetime) -> bool:
        return start <= instant.astimezone(zone).time() < end

    result = next_allowed_send_time(due, tz=tz, start=bounds[0], end=bounds[1], state=state)
    assert result >= due
    assert allowed(result)
    assert result - due < timedelta(days=3)
    if allowed(due):
        assert result == due
    else:
        before = result - timedelta(microseconds=1)
        assert before < due or not allowed(before)
