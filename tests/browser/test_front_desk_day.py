"""The desk's day in a real browser: a visit is checked in only on its own day (a visit a
week ahead shows its Arrived button disabled, with the reason), and a visit whose start has
passed is marked a no-show."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.core.clock import utcnow
from app.extensions import db
from app.scheduling.models import Appointment
from tests import factories

pytestmark = pytest.mark.browser


def sign_in(page, practice) -> None:  # noqa: ANN001
    staff = factories.make_staff(practice, role="front_desk")
    page.goto("/sign-in")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def visit_at(practice, start) -> Appointment:  # noqa: ANN001
    location = factories.make_location(practice, name="Lakeside", timezone="America/Chicago")
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    kind = factories.make_appointment_type(practice, name="Cleaning", duration_minutes=60)
    patient = factories.make_patient(practice, given_name="Lucia", family_name="Quintero")
    return factories.make_appointment(patient, provider, location, start_at=start,
                                      appointment_type=kind)


def test_check_in_only_on_the_visits_day(page, practice):
    now = utcnow().replace(second=0, microsecond=0)  # this minute: today, wherever it is
    ahead = visit_at(practice, now + timedelta(days=7))
    today = factories.make_appointment(ahead.patient, ahead.provider, ahead.location,
                                       start_at=now, appointment_type=ahead.appointment_type)
    sign_in(page, practice)

    page.goto(f"/schedule/appointments/{ahead.id}")
    expect(page.get_by_role("button", name="Arrived")).to_be_disabled()
    expect(page.get_by_text("can be checked in only on the day of the visit").first
           ).to_be_visible()

    page.goto(f"/schedule/appointments/{today.id}")
    page.get_by_role("button", name="Arrived").click()
    expect(page.get_by_text("Status saved.")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Appointment, today.id).status == "arrived"
    assert db.session.get(Appointment, ahead.id).status == "booked"


def test_mark_a_no_show(page, practice):
    started = visit_at(practice, utcnow().replace(second=0, microsecond=0)
                       - timedelta(minutes=20))
    sign_in(page, practice)

    page.goto(f"/schedule/appointments/{started.id}")
    page.get_by_role("button", name="No-show").click()

    expect(page.get_by_text("Status saved.")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Appointment, started.id).status == "noshow"
