"""Whose name a page shows when the deployment serves several practices: the sign-in page
names no practice then (each practice's staff use it), and only the practice the public
/book pages serve is told that patients can book online."""

from __future__ import annotations

import re
from datetime import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.practice.models import Practice
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from tests import factories


def brand(html: str) -> str:
    return re.search(r'class="(?:brand-name|practice-name)">([^<]*)<', html).group(1)


def signed_in(app: Flask, practice: Practice, role: str = "admin") -> FlaskClient:
    user = factories.make_staff(practice, role=role)
    client = app.test_client()
    assert client.post("/sign-in", data={"email": user.email,
                                         "password": factories.STAFF_PASSWORD}).status_code == 302
    return client


def every_step_done(practice: Practice) -> None:
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    factories.make_patient(practice)
    factories.make_staff(practice)
    factories.make_appointment_type(practice)
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(0, time(9), time(17))])
    practice.sms_from_number = f"+1312555{practice.id:04d}"
    db.session.commit()


def test_the_sign_in_page_names_the_practice_only_when_it_is_the_only_one(app, practice):
    assert brand(app.test_client().get("/sign-in").get_data(as_text=True)) == practice.name
    second = factories.make_practice(name="Hillside Pediatrics")
    html = app.test_client().get("/sign-in").get_data(as_text=True)
    assert brand(html) == "Frontdesk" and "Frontdesk is not set up yet" not in html
    assert practice.name not in html and second.name not in html
    home = signed_in(app, second).get("/").get_data(as_text=True)
    assert brand(home) == "Hillside Pediatrics"


@pytest.mark.app_settings(TWILIO_FROM_NUMBER="")
def test_only_the_public_practice_is_told_patients_can_book_online(app, practice):
    second = factories.make_practice(name="Hillside Pediatrics")
    for each in (practice, second):
        every_step_done(each)
    first_page = signed_in(app, practice).get("/setup").get_data(as_text=True)
    second_page = signed_in(app, second).get("/setup").get_data(as_text=True)
    assert "Every step is done. Patients can book online." in first_page
    assert "Every step is done." in second_page and "book online" not in second_page
