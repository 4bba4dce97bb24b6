"""The one place that reads the wall clock, so tests and jobs agree on "now"."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
