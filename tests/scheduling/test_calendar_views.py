"""The staff calendar: the day and week views, booking a patient into an open slot, a slot
taken meanwhile, moving, cancelling with a reason, check-in and check-out."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core import clock
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


def open_slot_links(page: str) -> dict[str, str]:
    """The day page's open-slot links, by the time they show."""
    return {time_: html.unescape(href) for href, time_ in re.findall(
        r'<a class="cal-slot" href="(/schedule/book\?[^"]+)">'
        r'<span class="visually-hidden">Book </span>([^<]+)</a>', page)}


def test_day_view_is_a_time_grid_in_local_time(login, desk: Desk) -> None:
    booked = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                        start_at=at(desk.day, "09:30"),
                                        appointment_type=desk.exam)
    page = day_page(login("front_desk"), desk)
    assert "<caption" in page
    assert '<th scope="col">Dr. Ana Rivera</th>' in page
    assert '<th scope="row" class="cal-time">9:00\u202fAM</th>' in page
    assert '<th scope="row" class="cal-time">10:45\u202fAM</th>' in page
    assert "11:00\u202fAM</th>" not in page  # she stops at 11:00
    block = re.search(r'<td rowspan="(\d)" class="cal-block">(.*?)</td>', page, re.S)
    assert block, "the exam is drawn as a block"
    assert block.group(1) == "2"  # 30 minutes: two rows
    assert f'href="/schedule/appointments/{booked.id}"' in block.group(2)
    assert "Quintero, Lucia" in block.group(2) and "Booked" in block.group(2)
    assert "9:30\u202fAM–10:00\u202fAM" in block.group(2)
    # 09:00 fits before the 09:30 exam; 10:00 to 10:30 after it; 09:30 itself is taken.
    assert sorted(open_slot_links(page)) == ["10:00\u202fAM", "10:15\u202fAM",
                                             "10:30\u202fAM", "9:00\u202fAM"]


def test_day_view_shades_time_off_with_its_label(login, desk: Desk, practice) -> None:  # noqa: ANN001
    calendars.add_time_off(practice_id=practice.id, provider_id=desk.provider.id,
                           starts_at=at(desk.day, "10:00"), ends_at=at(desk.day, "11:00"),
                           label="Lab visit")
    page = day_page(login("front_desk"), desk)
    assert '<td rowspan="4" class="cal-off"><span>Lab visit</span></td>' in page
    assert sorted(open_slot_links(page)) == ["9:00\u202fAM", "9:15\u202fAM", "9:30\u202fAM"]


def test_a_day_nobody_works_says_so(login, desk: Desk) -> None:
    response = login("front_desk").get("/schedule", query_string={
        "location_id": desk.location.id, "date": (desk.day + timedelta(days=5)).isoformat()})
    assert "Nobody works at this location on this day." in response.get_data(as_text=True)


def test_week_view_of_a_provider_has_a_column_per_day(login, desk: Desk) -> None:
    factories.make_appointment(desk.patient, desk.provider, desk.location,
                               start_at=at(desk.day + timedelta(days=2), "09:00"),
                               appointment_type=desk.exam)
    response = login("front_desk").get("/schedule/week", query_string={
        "location_id": desk.location.id, "appointment_type_id": desk.exam.id,
        "provider_id": desk.provider.id, "date": (desk.day + timedelta(days=3)).isoformat()})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    days = re.findall(r'<th scope="col"><a href="/schedule\?date=([\d-]+)[^"]*">', page)
    assert days == [(desk.day + timedelta(days=n)).isoformat() for n in range(7)]
    assert "Quintero, Lucia" in page
    assert page.count('class="cal-slot"') == 4 * 7 + 5  # 09:00-10:30; Wednesday from 09:30
    assert page.count('class="cal-closed"') == 2  # Saturday and Sunday


def test_week_view_of_the_location_counts_per_provider_and_links_each_day(
        login, desk: Desk) -> None:  # noqa: ANN001
    factories.make_appointment(desk.patient, desk.provider, desk.location,
                               start_at=at(desk.day, "09:00"), appointment_type=desk.exam)
    response = login("front_desk").get("/schedule/week", query_string={
        "location_id": desk.location.id, "appointment_type_id": desk.exam.id,
        "date": desk.day.isoformat()})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    provider_row = page.split("Dr. Ana Rivera</a></th>")[1].split("</tr>")[0]
    cells = re.findall(r'"count-booked">(\d+) booked</span>\s*'
                       r'<span class="count-open">(\d+) open', provider_row)
    # Monday: one booked, 09:30-10:30 open every 15 min; Tuesday 09:00-10:30; Saturday off.
    assert cells[:2] == [("1", "5"), ("0", "7")]
    assert cells[5] == ("0", "0")
    assert f'href="/schedule?date={desk.day.isoformat()}&amp;location_id=' in page
    assert f"provider_id={desk.provider.id}" in page  # the provider's own week


def test_book_a_patient_into_an_open_slot(login, desk: Desk, db) -> None:  # noqa: ANN001
    client = login("front_desk")
    ten = open_slot_links(day_page(client, desk)).get("10:00\u202fAM")
    assert ten, "the 10:00 open slot links to the booking page"
    search = client.post("/schedule/book/patients", data={
        **dict(parse_qsl(urlsplit(ten).query)), "q": "Quintero"})
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


def test_a_time_outside_working_hours_says_so_not_taken(login, desk: Desk) -> None:
    response = login("front_desk").post("/schedule/book", data=slot_data(
        desk, "21:07", patient_id=desk.patient.id))  # 9:07 PM: the provider works 9-11 AM
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That time is outside working hours" in page
    assert "That time was just taken" not in page
    assert "9:00 AM" in page  # the next open time, offered as a button


def test_booking_errors_name_the_field(login, desk: Desk) -> None:
    response = login("front_desk").post("/schedule/book", data=slot_data(desk, "10:00"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose a patient." in page
    assert "No other open times soon." not in page


def test_booking_errors_are_in_the_pages_language(login, desk: Desk, db) -> None:  # noqa: ANN001
    desk.exam.active = False
    db.session.commit()
    response = login("front_desk").post("/schedule/book", query_string={"lang": "es"},
                                        data=slot_data(desk, "10:00",
                                                       patient_id=desk.patient.id))
    assert response.status_code == 400
    assert "Exam ya no se ofrece" in html.unescape(response.get_data(as_text=True))
    assert db.session.execute(select(Appointment)).first() is None


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
    url = f"/schedule/appointments/{appointment.id}/status"
    with clock.frozen_at(at(desk.day, "08:50")):  # the visit's day, before its start
        client = login("front_desk")
        page = client.get(f"/schedule/appointments/{appointment.id}").get_data(as_text=True)
        assert "Check in" in page and "Check out" not in page
        assert client.post(url, data={"status": "checked-in"}).status_code == 302
        assert db.session.get(Appointment, appointment.id).status == "checked-in"
        refused = client.post(url, data={"status": "fulfilled"}, follow_redirects=True)
        assert "not before the visit&#39;s start" in refused.get_data(as_text=True)
        assert db.session.get(Appointment, appointment.id).status == "checked-in"
        with clock.frozen_at(at(desk.day, "09:02")):
            assert client.post(url, data={"status": "fulfilled"}).status_code == 302
            assert db.session.get(Appointment, appointment.id).status == "fulfilled"
            not_a_desk_action = client.post(url, data={"status": "booked"})
            assert not_a_desk_action.status_code == 302
    assert db.session.get(Appointment, appointment.id).status == "fulfilled"


def test_a_visit_a_week_ahead_cannot_be_checked_in(login, desk: Desk, db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    client = login("front_desk")
    page = client.get(f"/schedule/appointments/{appointment.id}").get_data(as_text=True)
    assert re.search(r"<button[^>]*disabled[^>]*>Arrived</button>", page)
    assert "checked in only on the day of the visit" in page

    refused = client.post(f"/schedule/appointments/{appointment.id}/status",
                          data={"status": "arrived"}, follow_redirects=True)

    assert "checked in only on the day of the visit" in refused.get_data(as_text=True)
    assert db.session.get(Appointment, appointment.id).status == "booked"


def test_no_show_only_after_the_start_and_audited(login, desk: Desk, db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    url = f"/schedule/appointments/{appointment.id}/status"
    with clock.frozen_at(at(desk.day, "08:58")):
        client = login("front_desk")
        client.post(url, data={"status": "noshow"})
        assert db.session.get(Appointment, appointment.id).status == "booked"
        with clock.frozen_at(at(desk.day, "09:08")):
            page = client.get(f"/schedule/appointments/{appointment.id}").get_data(as_text=True)
            assert re.search(r"<button[^>]*>No-show</button>", page)
            assert client.post(url, data={"status": "noshow"}).status_code == 302

    assert db.session.get(Appointment, appointment.id).status == "noshow"
    details = db.session.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "appointment.change",
        AuditEvent.patient_id == desk.patient.id)).scalars().all()
    assert [json.loads(d).get("status") for d in details] == ["noshow"]


def test_move_to_another_open_slot(login, desk: Desk, db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    client = login("front_desk")
    response = client.post(f"/schedule/appointments/{appointment.id}/move",
                           data=slot_data(desk, "10:30"))
    assert response.status_code == 302
    assert db.session.get(Appointment, appointment.id).start_at == at(desk.day, "10:30")


def test_moving_offers_any_days_open_times_through_a_date_picker(login, desk: Desk,
                                                                 db) -> None:  # noqa: ANN001
    appointment = factories.make_appointment(desk.patient, desk.provider, desk.location,
                                             start_at=at(desk.day, "09:00"),
                                             appointment_type=desk.exam)
    later = desk.day + timedelta(days=35)  # weeks past the ten soonest open times
    client = login("front_desk")
    url = f"/schedule/appointments/{appointment.id}"
    assert 'type="date"' in client.get(url).get_data(as_text=True)

    page = client.get(url, query_string={"day": later.isoformat()}).get_data(as_text=True)

    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert at(later, "10:30").isoformat() in starts
    assert {datetime.fromisoformat(s).astimezone(NY).date() for s in starts} == {later}
    assert len(starts) == 7  # 09:00 to 10:30, every 15 minutes
    response = client.post(f"{url}/move", data=slot_data(desk, "10:30") | {
        "start": at(later, "10:30").isoformat()})
    assert response.status_code == 302
    assert db.session.get(Appointment, appointment.id).start_at == at(later, "10:30")


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
    # The first location's today instead (whatever day that is: a Sunday has no one working).
    today = utcnow().astimezone(NY).date()
    assert f'<option value="{desk.location.id}" selected>' in page
    assert f'value="{today.isoformat()}"' in page


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


HUGE = "100000000000000000000"  # more than any id column holds


@pytest.mark.parametrize(("method", "url"), [
    ("post", f"/schedule/waitlist/{HUGE}/remove"),
    ("get", f"/schedule/appointments/{HUGE}"),
    ("post", f"/schedule/appointments/{HUGE}/cancel"),
    ("get", f"/settings/calendars/types/{HUGE}"),
    ("get", f"/settings/calendars/providers/{HUGE}"),
    ("post", f"/settings/calendars/providers/{HUGE}/hours"),
    ("post", f"/settings/calendars/providers/1/exceptions/{HUGE}/remove"),
])
def test_an_id_too_big_for_the_database_is_not_found(login, desk: Desk, method: str,
                                                     url: str) -> None:
    response = getattr(login("manager"), method)(url, data={"reason": "Testing"})
    assert response.status_code == 404


@pytest.mark.parametrize(("url", "day"), [("/schedule", "9999-12-31"),
                                          ("/schedule/week", "0001-01-01"),
                                          ("/schedule/week", "2201-01-01")])
def test_a_day_outside_the_calendars_range_names_the_field_and_shows_today(
        login, desk: Desk, url: str, day: str) -> None:
    response = login("front_desk").get(url, query_string={"date": day})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a date between 1900 and 2200." in page
    today = utcnow().astimezone(ZoneInfo(desk.location.timezone)).date().isoformat()
    assert f'name="date" value="{today}"' in page


@pytest.mark.parametrize("day", ["1900-01-01", "2200-12-31"])
def test_the_calendars_first_and_last_days_can_be_shown(login, desk: Desk, day: str) -> None:
    for url in ("/schedule", "/schedule/week"):
        response = login("front_desk").get(url, query_string={"date": day})
        assert response.status_code == 200
        assert f'name="date" value="{day}"' in response.get_data(as_text=True)
