"""The desk's "new bookings" list (issue 12, the day's work): visits patients booked online or
by taking a waitlist offer, until each staff member marks them seen."""

from __future__ import annotations

import json
from datetime import time, timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.scheduling import booking, calendars, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment
from app.scheduling.waitlist import entries as waitlist_entries
from app.security.models import AuditEvent
from tests import factories


def test_online_bookings_and_waitlist_fills_are_listed_until_each_staff_member_sees_them(
        login, practice) -> None:
    location = factories.make_location(practice, name="Lakeside", timezone="America/Chicago")
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    exam.min_notice_minutes = 0
    db.session.commit()
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[exam.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(d, time(9), time(17)) for d in range(7)])
    now = utcnow()
    found = slots.find_open_slots(appointment_type_id=exam.id, location_id=location.id,
                                  start=now + timedelta(days=2), end=now + timedelta(days=9))
    patients = [factories.make_patient(practice, family_name=name)
                for name in ("Online", "Waitlisted", "Desk")]
    online = booking.book(patient_id=patients[0].id, slot=found[0], source="patient")
    filled = booking.book(patient_id=patients[1].id, slot=found[2], source="patient")
    entry = waitlist_entries.join(practice_id=practice.id, patient_id=patients[1].id,
                                  appointment_type_id=exam.id, location_id=location.id,
                                  provider_ids=[], weekdays=tuple(range(7)))
    entry.status, entry.booked_appointment_id = "booked", filled.id
    staff = factories.make_staff(practice)
    booking.book(patient_id=patients[2].id, slot=found[4], source="staff", staff_id=staff.id)
    desk, colleague = login("front_desk"), login("front_desk")

    home = desk.get("/").get_data(as_text=True)
    assert "New bookings to look at" in home and "/schedule/new-bookings" in home
    page = desk.get("/schedule/new-bookings").get_data(as_text=True)
    assert "Online, " in page and "Waitlisted, " in page and "Desk, " not in page
    assert "Waitlist offer taken" in page
    audited = db.session.execute(select(AuditEvent.detail).where(
        AuditEvent.object_type == "new_bookings")).scalars().all()
    assert json.loads(audited[-1])["patient_ids"] == sorted([patients[0].id, patients[1].id])

    assert desk.post("/schedule/new-bookings/seen",
                     data={"appointment_id": online.id}).status_code == 302
    page = desk.get("/schedule/new-bookings").get_data(as_text=True)
    assert "Online, " not in page and "Waitlisted, " in page
    assert "Online, " in colleague.get("/schedule/new-bookings").get_data(as_text=True)

    desk.post("/schedule/new-bookings/seen", data={})
    assert "Nothing new to look at." in desk.get("/schedule/new-bookings").get_data(
        as_text=True)
    assert db.session.get(Appointment, filled.id).status == "booked"  # seen changes no visit
