"""Appointment journeys: confirmations, reminders, two-way replies, follow-ups."""
