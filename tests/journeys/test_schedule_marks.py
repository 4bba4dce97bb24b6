"""What journeys learns from patients shows on the staff schedule."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.scheduling.models import Appointment
from tests import factories
from tests.journeys.kit import book, local_day, make_clinic, run_worker_until, text_in


def test_confirmed_and_running_late_show_on_the_day_and_the_appointment(practice, login):
    clinic = make_clinic(practice)
    confirmed = factories.make_patient(practice, family_name="Okafor")
    late = factories.make_patient(practice, family_name="Nguyen")
    day = local_day(4)
    first = book(clinic, confirmed, day, "10:00")
    second = book(clinic, late, day, "12:00")
    run_worker_until(clinic, first.start_at - timedelta(days=3))
    at = first.start_at - timedelta(days=3) + timedelta(minutes=30)
    text_in(confirmed, "C", at=at)
    text_in(late, "running 15 minutes late", at=at)
    staff = login("front_desk")
    page = staff.get(f"/schedule?location_id={clinic.location.id}&date={day.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("Confirmed") == 1 and "Running 15 min late" in html
    detail = staff.get(f"/schedule/appointments/{first.id}").get_data(as_text=True)
    assert "Confirmed" in detail
    db.session.expire_all()
    assert db.session.get(Appointment, second.id).confirmed_at is None
