"""The patient booking pages' details: a closed day says closed (not "now full"), the
details step has a way back, and a date of birth is typed as the page's language writes it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.scheduling import calendars, online, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import OneTimeCode
from tests import factories
from tests.scheduling.test_self_service import FORM, Office, make_office, walk_to_identity


@pytest.fixture
def office(practice) -> Office:
    return make_office(practice)


def _args(office: Office) -> str:
    return f"type={office.kind.id}&location={office.location.id}&provider=0"


def test_a_weekday_nobody_works_says_closed_and_a_booked_up_day_says_full(client, office):
    zone = ZoneInfo(office.location.timezone)
    first, last = online.online_days(office.kind, office.location)
    days = [first + timedelta(days=n) for n in range(2, (last - first).days)]
    closed_day, full_day = days[0], days[1]
    # closed on one weekday: work the other six
    calendars.set_weekly_hours(
        practice_id=office.practice.id, provider_id=office.provider.id,
        location_id=office.location.id,
        intervals=[WeeklyInterval(day, time(9), time(17)) for day in range(7)
                   if day != closed_day.weekday()])
    patient = factories.make_patient(office.practice)
    for slot in slots.find_open_slots(  # every time of full_day taken
            appointment_type_id=office.kind.id, location_id=office.location.id,
            start=datetime.combine(full_day, time(0), zone),
            end=datetime.combine(full_day + timedelta(days=1), time(0), zone)):
        factories.make_appointment(patient, office.provider, office.location,
                                   start_at=slot.start, appointment_type=office.kind)

    closed = client.get(f"/book/time?{_args(office)}&day={closed_day.isoformat()}"
                        ).get_data(as_text=True)
    assert "closed that day" in closed and "now full" not in closed
    full = client.get(f"/book/time?{_args(office)}&day={full_day.isoformat()}"
                      ).get_data(as_text=True)
    assert "now full" in full and "closed that day" not in full
    spanish = client.get(f"/book/time?{_args(office)}&day={closed_day.isoformat()}&lang=es"
                         ).get_data(as_text=True)
    assert "Ese día estamos cerrados" in spanish


def test_the_details_step_links_back_to_the_chosen_days_times(client, office):
    slot = walk_to_identity(client, office)
    page = client.get("/book/identity").get_data(as_text=True)
    day = slot.start.astimezone(ZoneInfo(office.location.timezone)).date()
    back = (f'href="/book/time?type={office.kind.id}&amp;location={office.location.id}'
            f'&amp;provider={slot.provider_id}&amp;day={day.isoformat()}">Back</a>')
    assert back in page


def test_the_date_of_birth_is_typed_day_first_on_spanish_pages(client, office):
    walk_to_identity(client, office, lang="es")
    page = client.get("/book/identity").get_data(as_text=True)
    assert 'type="date"' not in page  # the browser's picker would show its own language
    assert 'placeholder="DD/MM/AAAA"' in page

    us_order = client.post("/book/identity", data={**FORM, "date_of_birth": "05/17/1975"})
    assert us_order.status_code == 200  # month 17: not a date, asked again
    assert db.session.execute(select(func.count(OneTimeCode.id))).scalar_one() == 0
    day_first = client.post("/book/identity", data={**FORM, "date_of_birth": "17/05/1975"})
    assert day_first.status_code == 302 and day_first.location.endswith("/book/verify")


def test_the_date_of_birth_is_typed_month_first_on_english_pages(client, office):
    walk_to_identity(client, office)
    assert 'placeholder="MM/DD/YYYY"' in client.get("/book/identity").get_data(as_text=True)
    response = client.post("/book/identity", data={**FORM, "date_of_birth": "05/17/1975"})
    assert response.status_code == 302 and response.location.endswith("/book/verify")
