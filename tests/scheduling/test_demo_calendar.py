"""The demo practice's calendars agree with its appointments, and leave time to book."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.demo import seed
from app.practice.models import Location, Provider
from app.scheduling import slots
from app.scheduling.models import Appointment, AppointmentType
from app.scheduling.slots import Slot


def test_demo_appointments_sit_in_open_hours_and_every_type_has_slots(db) -> None:
    now = utcnow()
    seed.seed_demo(now=now)
    types = {t.name: t for t in db.session.execute(select(AppointmentType)).scalars()}
    offered = {p.family_name: sorted(t.name for t in types.values() if p in t.providers)
               for p in db.session.execute(select(Provider)).scalars()}
    assert offered["Kim"] == offered["Whitfield"] == ["Cleaning"]
    assert offered["Carter"] == ["Emergency visit", "Exam", "Filling", "New patient visit"]

    # Every upcoming demo exam or filling is a slot the engine would offer were it free.
    upcoming = db.session.execute(select(Appointment).where(
        Appointment.start_at > now + timedelta(days=1), Appointment.status == "booked",
        Appointment.appointment_type_id.in_([types["Exam"].id, types["Filling"].id]))
    ).scalars().all()
    assert len(upcoming) > 100
    for appointment in upcoming:
        slot = Slot(start=appointment.start_at, end=appointment.end_at,
                    provider_id=appointment.provider_id, location_id=appointment.location_id,
                    appointment_type_id=appointment.appointment_type_id)
        assert slots.slot_is_open(slot=slot, now=now, exclude_appointment_id=appointment.id)

    for location in db.session.execute(select(Location)).scalars():
        for kind in types.values():
            found = slots.find_open_slots(appointment_type_id=kind.id, location_id=location.id,
                                          start=now, end=now + timedelta(days=30), limit=5,
                                          now=now)
            assert len(found) == 5, (location.name, kind.name)
