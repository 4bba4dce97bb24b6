"""Frequency caps (FCC 15-72: one a day, three a week): deferred, never dropped."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.messaging.frequency import next_time_under_caps

NY, LA = "America/New_York", "America/Los_Angeles"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


def test_nothing_sent_goes_now():
    now = utc(2026, 1, 15, 15)
    assert next_time_under_caps(now, sent_utc=[], tz=NY) == now


def test_second_message_on_the_same_local_day_waits_for_local_midnight():
    sent = [local(NY, 2026, 1, 15, 9, 0)]
    now = local(NY, 2026, 1, 15, 15, 0)
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == utc(2026, 1, 16, 5, 0)


def test_local_day_not_utc_day():
    # 23:00 PST on the 14th and 09:00 PST on the 15th: the same UTC date, different local days.
    sent = [utc(2026, 1, 15, 7, 0)]
    now = utc(2026, 1, 15, 17, 0)
    assert next_time_under_caps(now, sent_utc=sent, tz=LA) == now
    # 00:30 and 23:30 PST on the 15th: different UTC dates, one local day.
    sent = [utc(2026, 1, 15, 8, 30)]
    now = utc(2026, 1, 16, 7, 30)
    assert next_time_under_caps(now, sent_utc=sent, tz=LA) == utc(2026, 1, 16, 8, 0)


def test_the_same_sends_cap_differently_per_zone():
    sent = [utc(2026, 1, 15, 4, 0)]   # 23:00 EST on the 14th, 20:00 PST on the 14th
    now = utc(2026, 1, 15, 6, 0)      # 01:00 EST on the 15th, 22:00 PST on the 14th
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == now
    assert next_time_under_caps(now, sent_utc=sent, tz=LA) == utc(2026, 1, 15, 8, 0)


def test_fourth_message_in_seven_days_waits_for_the_oldest_to_age_out():
    sent = [local(NY, 2026, 1, 5, 10), local(NY, 2026, 1, 6, 10), local(NY, 2026, 1, 7, 10)]
    now = local(NY, 2026, 1, 8, 12)
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == local(NY, 2026, 1, 12, 10)


def test_rolling_week_is_seven_times_24_hours_across_spring_forward():
    sent = [utc(2026, 3, 2, 15), utc(2026, 3, 3, 15), utc(2026, 3, 4, 15)]  # 10:00 EST each
    now = utc(2026, 3, 5, 15)
    # 168 hours after the first send: 11:00 EDT on the 9th.
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == utc(2026, 3, 9, 15)


def test_fall_back_day_is_one_local_day_of_25_hours():
    sent = [utc(2026, 11, 1, 4, 30)]  # 00:30 EDT, 1 November
    now = utc(2026, 11, 2, 4, 30)     # 23:30 EST, still 1 November
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == utc(2026, 11, 2, 5, 0)


def test_spring_forward_day_is_one_local_day_of_23_hours():
    sent = [utc(2026, 3, 8, 5, 30)]   # 00:30 EST, 8 March
    now = utc(2026, 3, 9, 3, 30)      # 23:30 EDT, still 8 March
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == utc(2026, 3, 9, 4, 0)


def test_a_day_whose_midnight_does_not_exist_starts_after_the_gap():
    # Havana springs forward at 00:00 -> 01:00 on 2026-03-08.
    sent = [utc(2026, 3, 7, 15)]
    now = utc(2026, 3, 7, 20)
    assert next_time_under_caps(now, sent_utc=sent, tz="America/Havana") == utc(2026, 3, 8, 5)


def test_daily_and_weekly_caps_combine():
    sent = [local(NY, 2026, 1, 1, 10), local(NY, 2026, 1, 3, 10), local(NY, 2026, 1, 7, 8)]
    now = local(NY, 2026, 1, 7, 12)
    # Not again on the 7th; at midnight the 1st's send is still inside the week until 10:00.
    assert next_time_under_caps(now, sent_utc=sent, tz=NY) == local(NY, 2026, 1, 8, 10)


def test_custom_caps():
    sent = [local(NY, 2026, 1, 15, 9)]
    now = local(NY, 2026, 1, 15, 10)
    assert next_time_under_caps(now, sent_utc=sent, tz=NY, per_day=2) == now
    sent.append(local(NY, 2026, 1, 15, 10))
    assert next_time_under_caps(now, sent_utc=sent, tz=NY, per_day=2) == local(NY, 2026, 1, 16)
    assert next_time_under_caps(now, sent_utc=sent[:1], tz=NY, per_day=5, per_week=1) == local(
        NY, 2026, 1, 22, 9)


def test_send_order_does_not_matter():
    sent = [local(NY, 2026, 1, 7, 10), local(NY, 2026, 1, 5, 10), local(NY, 2026, 1, 6, 10)]
    now = local(NY, 2026, 1, 8, 12)
    assert next_time_under_caps(now, sent_utc=iter(sent), tz=NY) == local(NY, 2026, 1, 12, 10)


@pytest.mark.parametrize(("now", "sent", "kwargs", "message"), [
    (datetime(2026, 1, 1, 12), [], {}, "now_utc must be a timezone-aware"),
    (utc(2026, 1, 1, 12), [datetime(2026, 1, 1, 9)], {}, "sent_utc must be a timezone-aware"),
    (utc(2026, 1, 1, 12), [], {"per_day": 0}, "caps must be at least 1"),
    (utc(2026, 1, 1, 12), [], {"per_week": 0}, "caps must be at least 1"),
    (utc(2026, 1, 1, 12), [], {"tz": "Nowhere/Special"}, "tz='Nowhere/Special'"),
])
def test_bad_input_is_a_clear_value_error(now, sent, kwargs, message):
    kwargs = {"tz": NY, **kwargs}
    with pytest.raises(ValueError, match=message):
        next_time_under_caps(now, sent_utc=sent, **kwargs)


ZONES = [NY, "America/Chicago", "America/Phoenix", LA, "Pacific/Honolulu", "America/Havana",
         "Australia/Lord_Howe"]
NOW = utc(2026, 3, 5, 12)


def _within_caps(instant, sent, zone, per_day, per_week):
    day = instant.astimezone(zone).date()
    on_day = sum(1 for s in sent if s.astimezone(zone).date() == day)
    in_week = sum(1 for s in sent if instant.astimezone(UTC) - timedelta(days=7) < s)
    return on_day < per_day and in_week < per_week


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=14 * 24 * 3600), max_size=12),
    tz=st.sampled_from(ZONES),
    now_shift=st.integers(min_value=0, max_value=300 * 24 * 3600),
    per_day=st.integers(min_value=1, max_value=3),
    per_week=st.integers(min_value=1, max_value=5),
)
def test_result_is_the_earliest_instant_within_both_caps(offsets, tz, now_shift, per_day,
                                                         per_week):
    now = NOW + timedelta(seconds=now_shift)
    sent = [now - timedelta(seconds=offset) for offset in offsets]
    zone = ZoneInfo(tz)
    result = next_time_under_caps(now, sent_utc=sent, tz=tz, per_day=per_day, per_week=per_week)
    assert result >= now
    assert result - now <= timedelta(days=8)
    assert _within_caps(result, sent, zone, per_day, per_week)
    # Whether a message fits changes only at a local midnight or when a send turns 7 days old;
    # none of those moments before the result (nor now itself) may fit.
    first_day = now.astimezone(zone).date()
    midnights = [datetime.combine(first_day + timedelta(days=n), time(0), tzinfo=zone)
                 for n in range(10)]
    moments = [now, *midnights, *(s + timedelta(days=7) for s in sent)]
    for moment in moments:
        if now <= moment < result:
            assert not _within_caps(moment, sent, zone, per_day, per_week)
