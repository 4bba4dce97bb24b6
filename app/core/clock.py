"""The one place that reads the wall clock, so tests and jobs agree on "now", and the one
rule for turning a place's wall-clock time into an instant."""

from __future__ import annotations

import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# (the instant "now" was set to, the monotonic reading at that moment) while frozen
_frozen: tuple[datetime, float] | None = None


def utcnow() -> datetime:
    if _frozen is None:
        return datetime.now(UTC)
    at, since = _frozen
    return at + timedelta(seconds=_time.monotonic() - since)


@contextmanager
def frozen_at(at: datetime) -> Iterator[None]:
    """Run the block as if it started at ``at``: ``utcnow`` starts there and keeps ticking,
    so "now" is fixed to the test's chosen moment while event order is still real. The test
    suite runs inside this (see ``FRONTDESK_TEST_NOW`` in tests/conftest.py), so no test
    depends on the hour or day it happens to run at."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    outer, _frozen = _frozen, (at.astimezone(UTC), _time.monotonic())
    try:
        yield
    finally:
        _frozen = outer


def local_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """``wall`` on ``day`` in ``zone`` as a UTC instant. A time in the spring-forward gap
    moves forward by the gap; a repeated fall-back time means its first occurrence (fold 0).
    Working hours, the slot engine, the calendar grid and the settings screens all read local
    times this way, so they agree on DST days."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
