"""Calendars, appointments, slot engine, booking, waitlist, self-scheduling."""

from app.scheduling import waitlist as _waitlist  # noqa: F401 (its subscribers and intent handler)
