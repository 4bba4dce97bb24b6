"""Quiet hours: no message reaches a patient outside the allowed window of their local clock.

47 CFR 64.1200(c)(1) forbids telephone solicitations before 08:00 or after 21:00 at the called
party's location. Healthcare reminders are not solicitations, but as policy Frontdesk applies the
window (08:00-21:00 unless the practice sets another) to every message it starts, and narrows it
further for states whose telephone-solicitation laws end the day earlier or start it later. A
message due inside quiet hours is deferred to the start of the next allowed window, never dropped.

Immediate answers to a message the patient just sent (opt-out and opt-in confirmations, HELP,
replies to their keyword) are not deferred: the dispatcher skips this rule for them; it is the
caller's decision, not this module's.

The window is ``[start, end)`` in local wall-clock time, so 21:00:00 is already quiet. Around DST
changes the wall clock decides: on the spring-forward day 08:00 is 12:00 UTC in New York, not
13:00. A window start that falls in a DST gap (a wall time that does not exist that day) opens at
the first instant after the gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_START = time(8, 0)
DEFAULT_END = time(21, 0)

# States whose laws on telephone solicitations (calls and texts) allow a narrower window than the
# federal 08:00-21:00, applied as policy to all non-reply messages. Only rules we are sure of are
# listed; a missing state falls back to the practice window. Day-of-week and holiday bans (some
# states forbid Sunday solicitations) are not modelled: reminders are treatment messages.
STATE_WINDOWS: dict[str, tuple[time, time]] = {
    "CT": (time(9, 0), time(20, 0)),   # Connecticut telephone-solicitation law, 2023 amendment
    "FL": (time(8, 0), time(20, 0)),   # Florida Telephone Solicitation Act, Fla. Stat. 501.059
    "MD": (time(8, 0), time(20, 0)),   # Maryland Stop the Spam Calls Act (2023)
    "OK": (time(8, 0), time(20, 0)),   # Oklahoma Telephone Solicitation Act (2022)
    "WA": (time(8, 0), time(20, 0)),   # RCW 80.36.390
}


def zone_for(tz: str) -> ZoneInfo:
    """The IANA zone named ``tz``; ValueError naming it when unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"tz={tz!r} is not an IANA time zone (e.g. America/Chicago)") from None


def require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


def wall_clock_instants(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the local clock in ``zone`` first reads ``at`` (or, when ``at``
    falls in a DST gap, the first instant after the gap) on ``day``: one instant normally, two
    when a fall-back repeats ``at``. Earliest first."""
    wall = datetime.combine(day, at)
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None, fold=0) == wall:
            found.append(instant)
    if found:
        return sorted(set(found))
    # In a gap: fold=1 reads the wall time with the later offset and lands before the
    # transition, fold=0 after it; bisect for the transition.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == before.astimezone(zone).utcoffset():
            before = middle
        else:
            after = middle
    return [after.replace(microsecond=0)]


class NoSendingTime(ValueError):
    """No time of day is inside both the practice's window and the patient's state rule:
    the message can never go, so it is suppressed with this reason, not retried."""


def allowed_window(*, start: time, end: time, state: str | None) -> tuple[time, time]:
    """The practice window narrowed by the patient's state rule, if any."""
    if start >= end:
        raise NoSendingTime(f"quiet-hours start {start:%H:%M} must be before end {end:%H:%M}")
    rule = STATE_WINDOWS.get((state or "").strip().upper())
    if rule:
        start, end = max(start, rule[0]), min(end, rule[1])
        if start >= end:
            raise NoSendingTime(
                f"quiet-hours window leaves no time to send in state={state!r}")
    return start, end


def next_allowed_send_time(due_utc: datetime, *, tz: str, start: time = DEFAULT_START,
                           end: time = DEFAULT_END, state: str | None = None) -> datetime:
    """``due_utc`` (in UTC) if the patient's local time then is inside the window, else the
    start of the next window, in UTC."""
    require_aware("due_utc", due_utc)
    zone = zone_for(tz)
    start, end = allowed_window(start=start, end=end, state=state)
    due = due_utc.astimezone(UTC)

    def allowed(instant: datetime) -> bool:
        return start <= instant.astimezone(zone).time() < end

    if allowed(due):
        return due
    first_day = due.astimezone(zone).date()
    candidates = (instant for offset in range(4)
                  for instant in wall_clock_instants(first_day + timedelta(days=offset),
                                                     start, zone))
    return next(instant for instant in candidates if instant > due and allowed(instant))
