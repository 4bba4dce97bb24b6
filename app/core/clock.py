"""The one place that reads the wall clock, so tests and jobs agree on "now", and the one
rule for turning a place's wall-clock time into an instant."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """``wall`` on ``day`` in ``zone`` as a UTC instant. A time in the spring-forward gap
    moves forward by the gap; a repeated fall-back time means its first occurrence (fold 0).
    Working hours, the slot engine, the calendar grid and the settings screens all read local
    times this way, so they agree on DST days."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
