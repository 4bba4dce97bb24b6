"""Interval arithmetic for the slot engine: merging and subtracting sorted UTC intervals,
local wall-clock times to UTC (cached), the slot grid, and chunks of days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.core.clock import local_to_utc

Interval = tuple[datetime, datetime]


def align(moment: datetime, zone: ZoneInfo, step: timedelta) -> datetime:
    """The first grid point at or after ``moment``, counted in local wall-clock time."""
    local = moment.astimezone(zone)
    # Same tzinfo on both sides: the difference is wall-clock time since local midnight.
    remainder = (local - local.replace(hour=0, minute=0, second=0, microsecond=0)) % step
    return moment + (step - remainder) if remainder else moment


@lru_cache(maxsize=8192)
def to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return local_to_utc(day, wall, zone)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return to_utc(day, time(0), zone)


def chunks(days: list[date], limit: int | None) -> Iterator[list[date]]:
    if limit is None:
        yield days
        return
    index, size = 0, 1
    while index < len(days):
        yield days[index:index + size]
        index += size
        size *= 2


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``intervals`` minus ``holes``; both sorted, merged and disjoint."""
    result: list[Interval] = []
    index = 0
    for start, end in intervals:
        while index < len(holes) and holes[index][1] <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(holes) and holes[probe][0] < end:
            if holes[probe][0] > cursor:
                result.append((cursor, holes[probe][0]))
            cursor = max(cursor, holes[probe][1])
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result
