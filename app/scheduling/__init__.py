"""Calendars, appointments, slot engine, booking, waitlist, self-scheduling."""
