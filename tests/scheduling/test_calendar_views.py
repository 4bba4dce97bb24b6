"""The staff calendar: the day and week views, booking a patient into an open slot, a slot
taken meanwhile, moving, cancelling with a reason, check-in and check-out."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType
from app.security.models import AuditEvent
from tests import factories

NY = ZoneInfo("America/New_York")


@dataclass
class Desk:
    location: Location
    provider: Provider
    exam: AppointmentType
    patient: Patient
    day: date  # a Monday a week or two ahead: every slot is in the future


@pytest.fixture
def desk(practice: Practice) -> Desk:
    """One New York provider working weekdays 09:00-11:00; 30-minute exams."""
    location = factories.make_location(practice, name="Manhattan", timezone="America/New_York")
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[exam.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(d, time(9), time(11)) for d in range(5)])
    today = utcnow().astimezone(NY).date()
    monday = today + timedelta(days=7 - today.weekday() + 7)
    patient = factories.make_patient(practice, given_name="Lucia", family_name="Quintero")
    return Desk(location, provider, exam, patient, monday)


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=NY).astimezone(UTC)


def slot_data(desk: Desk, hhmm: str, **extra: object) -> dict[str, object]:
    return {"appointment_type_id": desk.exam.id, "provider_id": desk.provider.id,
            "location_id": desk.location.id, "start": at(desk.day, hhmm).isoformat(), **extra}


def day_page(client, desk: Desk) -> str:  # noqa: ANN001
    response = client.get("/schedule", query_string={
        "location_id": desk.location.id, "appointment_type_id": desk.exam.id,
        "date": desk.day.isoformat()})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_day_view_shows_appointments_and_open_slots_in_local_time(login, desk: Desk) -> None:
    factories.make_appointment(desk.patient, desk.provider, desk.location,
                               start_at=at(desk.day, "09:30"), appointment_type=desk.exam)
    page = day_page(login("front_desk"), desk)
    assert "Dr. Ana Rivera" in page
    assert "Quintero, Lucia" in page
    assert "Booked" in page
    # 09:00 fits before the 09:30 exam; 10:00 and 10:30 after it; 09:30 itself is taken.
    for free in ("9:00\u202fAM", "10:00\u202fAM", "10:30\u202fAM"):
        assert free in page
    assert page.count("9:30\u202fAM") == 1  # the appointment's row, not an open slot


def test_week_view_counts_booked_and_open_per_day(login, desk: Desk) -> None:
    factories.make_appointment(desk.patient, desk.provider, desk.location,
                               start_at=at(desk.day, "09:00"), appointment_type=desk.exam)
    response = login("front_desk").get("/schedule/week", query_string={
        "location_id": desk.location.id, "appointment_type_id": desk.exam.id,
        "provider_id": desk.provider.id, "date": desk.day.isoformat()})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = [row.split("</tr>")[0] for row in page.split("<tr>")[2:]]
    cells = [[cell.split("</td>")[0].strip() for cell in row.split("<td>")[2:]] for row in rows]
    assert cells[0] == ["1", "5"]  # Monday: one booked; 09:30-10:30 open every 15 min
    assert cells[1] == ["0", "7"]  # Tuesday: 09:00-10:30
    assert cells[5] == ["0", "0"]  # Saturday: not working


def test_book_a_patient_into_an_open_slot(login, desk: Desk, db) -> None:  # noqa: ANN001
    client = login("front_desk")
    ten = re.search(r'href="(/schedule/book\?[^"]+)"[^>]*>10:00', day_page(client, desk))
    assert ten, "the 10:00 open slot links to the booking page"
    search = client.get(html.unescape(ten.group(1)) + "&q=Quintero")
    assert search.status_code == 200
    assert "Quintero, Lucia" in search.get_data(as_text=True)

    response = client.post("/schedule/book", data=slot_data(desk, "10:00",
                                                             patient_id=desk.patient.id))
    assert response.status_code == 302
    booked = db.session.execute(select(Appointment)).scalar_one()
    assert (booked.patient_id, booked.start_at, booked.source) == (
        desk.patient.id, at(desk.day, "10:00"), "staff")
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "appointment.change",
        AuditEvent.object_id == str(booked.id))).scalar_one()
    assert "Quintero, Lucia" in day_page(client, desk)


def test_a_taken_slot_says_so_and_offers_the_next_ones(login, desk: Desk, practice) -> None:  # noqa: ANN001
    other = factories.make_patient(practice)
    factories.make_appointment(other, desk.provider, desk.location,
                               start_at=at(desk.day, "10:00"), appointment_type=desk.exam)
    response = login("front_desk").post("/schedule/book", data=slot_data(
        desk, "10:00", patient_id=desk.patient.id))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That time was just taken" in page
    assert "10:30\u202fAM" in page  # the next open time, offered as a button


def test_booking_errors_name_the_field(login, desk: Desk) -> None:
    response = login("front_desk").post("/schedule/book", data=slot_data(desk, "10:00"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose a patient." in page
    assert "No other open times soon." not in page


def test_cancel_requires_a_reason(login, desk: Desk, db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    client = login("front_desk")
    url = f"/schedule/appointments/{appointment.id}/cancel"
    refused = client.post(url, data={"reason": "  "})
    assert refused.status_code == 400
    assert "Say why the appointment is cancelled." in refused.get_data(as_text=True)
    assert db.session.get(Appointment, appointment.id).status == "booked"

    assert client.post(url, data={"reason": "Patient called, feeling unwell"}).status_code == 302
    cancelled = db.session.get(Appointment, appointment.id)
    assert (cancelled.status, cancelled.cancel_reason) == (
        "cancelled", "Patient called, feeling unwell")


def test_check_in_then_check_out(login, desk: Desk, db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    client = login("front_desk")
    page = client.get(f"/schedule/appointments/{appointment.id}").get_data(as_text=True)
    assert "Check in" in page and "Check out" not in page
    url = f"/schedule/appointments/{appointment.id}/status"
    assert client.post(url, data={"status": "checked-in"}).status_code == 302
    assert db.session.get(Appointment, appointment.id).status == "checked-in"
    assert client.post(url, data={"status": "fulfilled"}).status_code == 302
    assert db.session.get(Appointment, appointment.id).status == "fulfilled"
    assert client.post(url, data={"status": "booked"}).status_code == 302  # not a desk action
    assert db.session.get(Appointment, appointment.id).status == "fulfilled"


def test_move_to_another_open_slot(login, desk: Desk, db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    client = login("front_desk")
    response = client.post(f"/schedule/appointments/{appointment.id}/move",
                           data=slot_data(desk, "10:30"))
    assert response.status_code == 302
    assert db.session.get(Appointment, appointment.id).start_at == at(desk.day, "10:30")


def test_marketing_may_not_use_the_calendar(login, desk: Desk) -> None:
    client = login("marketing")
    assert client.get("/schedule").status_code == 403
    assert client.post("/schedule/book", data=slot_data(
        desk, "10:00", patient_id=desk.patient.id)).status_code == 403


def test_bad_choices_name_the_field_and_fall_back(login, desk: Desk) -> None:
    response = login("front_desk").get("/schedule", query_string={
        "location_id": 9999, "date": "2026-02-30"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing with that number in this practice." in page
    assert "Enter a date as YYYY-MM-DD." in page
    assert "Dr. Ana Rivera" in page  # the first location's day instead


def test_another_practices_appointment_is_not_found(login, desk: Desk) -> None:
    elsewhere = factories.make_practice(name="Elsewhere Dental")
    location = factories.make_location(elsewhere)
    stranger = factories.make_appointment(
        factories.make_patient(elsewhere), factories.make_provider(elsewhere, locations=[location]),
        location)
    client = login("front_desk")
    assert client.get(f"/schedule/appointments/{stranger.id}").status_code == 404
    assert client.post(f"/schedule/appointments/{stranger.id}/cancel",
                       data={"reason": "Testing"}).status_code == 404
