"""The demo providers' calendars: on each day of their schedule they work 08:00-12:00 and
13:00-17:00 at that day's location (the hours the demo appointments are laid out in), and
they offer the appointment types of their role."""

from __future__ import annotations

from app.demo import data
from app.demo.appointments import DAY_END, DAY_START, LUNCH_END, LUNCH_START, Staffing
from app.practice.models import Location
from app.scheduling.models import AppointmentType, Schedule, WorkingHours


def build_working_hours(*, staffing: list[Staffing], locations: dict[str, Location]
                        ) -> list[WorkingHours]:
    return [WorkingHours(practice_id=staff.provider.practice_id, provider_id=staff.provider.id,
                         location_id=locations[place_key].id, weekday=weekday,
                         start_time=start, end_time=end)
            for staff in staffing
            for weekday, place_key in sorted(staff.spec.schedule.items())
            for start, end in ((DAY_START, LUNCH_START), (LUNCH_END, DAY_END))]


def offer_appointment_types(*, staffing: list[Staffing], types: dict[str, AppointmentType]
                            ) -> None:
    for staff in staffing:
        for name in data.HYGIENIST_MIX if staff.spec.hygienist else data.DENTIST_MIX:
            types[name].providers.append(staff.provider)


def build_schedules(*, practice_id: int, hours: list[WorkingHours]) -> list[Schedule]:
    """One calendar (FHIR Schedule) per provider and location the hours name."""
    pairs = sorted({(row.provider_id, row.location_id) for row in hours})
    return [Schedule(practice_id=practice_id, provider_id=provider_id, location_id=location_id,
                     active=True) for provider_id, location_id in pairs]
