"""An appointment as a calendar entry: an .ics file (icalendar) and "add to calendar" links.
The title names the appointment type and the practice only: no clinical detail."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlencode

from icalendar import Calendar, Event

from app.scheduling.models import Appointment


def title(appointment: Appointment) -> str:
    return f"{appointment.appointment_type.name} at {appointment.location.practice.name}"


def address(appointment: Appointment) -> str:
    where = appointment.location
    return f"{where.address_line}, {where.city}, {where.state} {where.postal_code}"


def to_ics(appointment: Appointment) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Frontdesk//Self-scheduling//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"appointment-{appointment.id}@frontdesk")
    event.add("dtstamp", appointment.created_at.astimezone(UTC))
    event.add("dtstart", appointment.start_at.astimezone(UTC))
    event.add("dtend", appointment.end_at.astimezone(UTC))
    event.add("summary", title(appointment))
    event.add("location", address(appointment))
    calendar.add_component(event)
    return calendar.to_ical()


def _stamp(appointment: Appointment, name: str) -> str:
    return getattr(appointment, name).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_url(appointment: Appointment) -> str:
    dates = f"{_stamp(appointment, 'start_at')}/{_stamp(appointment, 'end_at')}"
    return "https://calendar.google.com/calendar/render?" + urlencode(
        {"action": "TEMPLATE", "text": title(appointment), "dates": dates,
         "location": address(appointment)})


def outlook_url(appointment: Appointment) -> str:
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(
        {"path": "/calendar/action/compose", "rru": "addevent", "subject": title(appointment),
         "startdt": appointment.start_at.astimezone(UTC).strftime(iso),
         "enddt": appointment.end_at.astimezone(UTC).strftime(iso),
         "location": address(appointment)})
