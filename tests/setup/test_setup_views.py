"""The set-up checklist and the practice settings screens: what an admin sees and can save,
field errors beside their fields, other practices' records out of reach."""

from __future__ import annotations

import html as html_text
import re
from datetime import time

import pytest

from app.extensions import db
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.security.models import AuditEvent
from tests import factories

VALID_NPI = "1234567893"  # the CMS example: check digit 3
LOCATION = {"name": "Lakeside North", "address_line": "200 Lake St", "city": "Chicago",
            "state": "il", "postal_code": "60601", "phone": "(312) 555-0142",
            "timezone": "America/Chicago"}


def step_states(html: str) -> dict[str, str]:
    """Checklist step id → "done" / "not done", as the page shows them."""
    return {step: "done" if "is-done" in classes else "not done"
            for classes, step in re.findall(r'class="panel checklist-step([^"]*)" id="step-(\w+)"',
                                            html)}


def field_error(html: str, field: str) -> str:
    """The error text shown right after the named input."""
    match = re.search(rf'id="{field}"[^>]*>\s*<small class="field-error">([^<]+)<', html)
    return html_text.unescape(match.group(1)) if match else ""


@pytest.mark.app_settings(TWILIO_FROM_NUMBER="")  # no deployment-wide sender
def test_an_admin_of_an_empty_practice_lands_on_the_checklist(app, practice):
    admin = factories.make_staff(practice, role="admin")
    client = app.test_client()
    response = client.post("/sign-in", data={"email": admin.email,
                                             "password": factories.STAFF_PASSWORD})
    assert response.headers["Location"] == "/setup"
    html = client.get("/setup").get_data(as_text=True)
    assert step_states(html) == dict.fromkeys(
        ["details", "locations", "providers", "calendars", "staff", "senders", "patients"],
        "not done") | {"details": "done"}
    assert 'href="/setup"' in html  # in the staff navigation


def test_once_there_is_a_location_and_a_provider_admins_land_at_home(app, practice):
    location = factories.make_location(practice)
    factories.make_provider(practice, locations=[location])
    admin = factories.make_staff(practice, role="admin")
    response = app.test_client().post("/sign-in", data={
        "email": admin.email, "password": factories.STAFF_PASSWORD})
    assert response.headers["Location"] == "/"


def test_front_desk_signs_in_to_home_even_in_an_empty_practice(app, practice):
    user = factories.make_staff(practice, role="front_desk")
    response = app.test_client().post("/sign-in", data={
        "email": user.email, "password": factories.STAFF_PASSWORD})
    assert response.headers["Location"] == "/"


@pytest.mark.app_settings(TWILIO_FROM_NUMBER="")  # no deployment-wide sender
def test_steps_turn_done_as_the_practice_fills_in(login, practice):
    admin = login("admin")
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    factories.make_patient(practice)
    factories.make_staff(practice)
    states = step_states(admin.get("/setup").get_data(as_text=True))
    assert states["locations"] == states["providers"] == states["patients"] == "done"
    assert states["staff"] == "done"
    assert states["calendars"] == states["senders"] == "not done"

    factories.make_appointment_type(practice)
    assert step_states(admin.get("/setup").get_data(as_text=True))["calendars"] == "not done"
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(0, time(9), time(17))])
    practice.sms_from_number = "+13125550188"
    db.session.commit()
    states = step_states(admin.get("/setup").get_data(as_text=True))
    assert states["calendars"] == states["senders"] == "done"


def test_a_manager_sees_the_checklist_but_not_the_admin_only_steps(login):
    manager = login("manager")
    html = manager.get("/setup").get_data(as_text=True)
    assert "An admin invites staff." in html and "An admin sets the senders." in html
    assert manager.get("/settings/senders").status_code == 403
    assert manager.get("/settings/locations/new").status_code == 200
    front_desk = login("front_desk")
    assert front_desk.get("/setup").status_code == 403
    assert front_desk.post("/settings/locations/new", data=LOCATION).status_code == 403


def test_the_practice_details_are_saved_and_audited(login, practice):
    admin = login("admin")
    response = admin.post("/settings/practice", data={
        "name": "Lakeside Dental", "phone": "312 555 0199", "email": "Front@Lakeside.example",
        "website": "lakeside.example", "timezone": "America/New_York",
        "send_window_start": "09:00", "send_window_end": "20:00"})
    assert response.status_code == 302
    db.session.refresh(practice)
    assert (practice.name, practice.phone, practice.email, practice.website,
            practice.timezone) == ("Lakeside Dental", "+13125550199", "front@lakeside.example",
                                   "https://lakeside.example", "America/New_York")
    assert (practice.send_window_start, practice.send_window_end) == (time(9), time(20))
    event = db.session.query(AuditEvent).filter_by(action="practice.update").one()
    assert "timezone" in event.detail


def test_bad_practice_details_are_named_beside_their_fields(login, practice):
    response = login("admin").post("/settings/practice", data={
        "name": "", "phone": "call us", "email": "nope", "website": "", "timezone": "Mars/Base",
        "send_window_start": "21:00", "send_window_end": "08:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "name") == "missing name"
    assert "is not a phone number" in field_error(html, "phone")
    assert "is not an email address" in field_error(html, "email")
    assert "unknown time zone" in field_error(html, "timezone")
    assert field_error(html, "send_window_end") == (
        "the window must end at least one hour after it starts")
    db.session.refresh(practice)
    assert practice.name == "Lakeside Family Dental"


def test_a_location_is_added_and_edited(login, practice):
    admin = login("admin")
    assert admin.post("/settings/locations/new", data=LOCATION).status_code == 302
    location = db.session.query(Location).one()
    assert (location.state, location.phone) == ("IL", "+13125550142")
    assert "Lakeside North" in admin.get("/settings/locations").get_data(as_text=True)
    response = admin.post(f"/settings/locations/{location.id}",
                          data=LOCATION | {"city": "Evanston"})
    assert response.status_code == 302
    db.session.refresh(location)
    assert location.city == "Evanston"


def test_location_errors_name_the_field_and_a_duplicate_name_is_one(login, practice):
    admin = login("admin")
    factories.make_location(practice, name="Lakeside North")
    response = admin.post("/settings/locations/new",
                          data=LOCATION | {"timezone": "Chicago", "postal_code": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "unknown time zone 'Chicago'" in field_error(html, "timezone")
    assert field_error(html, "postal_code") == "missing postal code"
    html = admin.post("/settings/locations/new", data=LOCATION).get_data(as_text=True)
    assert "already has a location named" in field_error(html, "name")
    assert db.session.query(Location).count() == 1


def test_a_provider_needs_a_valid_npi_and_works_at_chosen_locations(login, practice):
    admin = login("admin")
    location = factories.make_location(practice)
    form = {"prefix": "Dr.", "given_name": "Ana", "family_name": "Rivera",
            "credentials": "DDS", "npi": "1234567890", "location_ids": [location.id],
            "active": "y"}
    response = admin.post("/settings/providers/new", data=form)
    assert response.status_code == 400
    assert "is not a valid NPI" in field_error(response.get_data(as_text=True), "npi")
    assert admin.post("/settings/providers/new", data=form | {"npi": VALID_NPI}
                      ).status_code == 302
    provider = db.session.query(Provider).one()
    assert provider.npi == VALID_NPI and provider.locations == [location] and provider.active
    response = admin.post(f"/settings/providers/{provider.id}",
                          data=form | {"npi": VALID_NPI, "location_ids": [], "active": ""})
    assert response.status_code == 302
    db.session.refresh(provider)
    assert provider.locations == [] and not provider.active


def test_a_provider_cannot_be_placed_at_another_practices_location(login, practice):
    other = factories.make_location(factories.make_practice(name="Elsewhere Dental"))
    response = login("admin").post("/settings/providers/new", data={
        "given_name": "Ana", "family_name": "Rivera", "location_ids": [other.id]})
    assert response.status_code == 400
    assert "this practice's locations" in html_text.unescape(response.get_data(as_text=True))
    assert db.session.query(Provider).count() == 0


def test_another_practices_locations_and_providers_are_404(login, practice):
    elsewhere = factories.make_practice(name="Elsewhere Dental")
    location = factories.make_location(elsewhere, name="Their office")
    provider = factories.make_provider(elsewhere, family_name="Theirs")
    admin = login("admin")
    for url in (f"/settings/locations/{location.id}", f"/settings/providers/{provider.id}"):
        assert admin.get(url).status_code == 404
        assert admin.post(url, data=LOCATION | {"given_name": "X", "family_name": "Y"}
                          ).status_code == 404
    listing = admin.get("/settings/locations").get_data(as_text=True) + admin.get(
        "/settings/providers").get_data(as_text=True)
    assert "Their office" not in listing and "Theirs" not in listing


def test_senders_are_saved_and_empty_means_the_defaults(login, practice):
    admin = login("admin")
    response = admin.post("/settings/senders", data={
        "sms_from_number": "(312) 555-0188", "sms_messaging_service_sid": "MG" + "a1" * 16,
        "email_from_address": "Desk@Lakeside.example"})
    assert response.status_code == 302
    db.session.refresh(practice)
    assert (practice.sms_from_number, practice.sms_messaging_service_sid,
            practice.email_from_address) == ("+13125550188", "MG" + "a1" * 16,
                                             "desk@lakeside.example")
    assert admin.post("/settings/senders", data=dict.fromkeys(
        ["sms_from_number", "sms_messaging_service_sid", "email_from_address"], "")
    ).status_code == 302
    db.session.refresh(practice)
    assert practice.sms_from_number is None and practice.email_from_address is None


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("sms_from_number", "call me", "is not a phone number"),
    ("sms_messaging_service_sid", "MG123", "is not a Messaging Service SID"),
    ("email_from_address", "desk@", "is not an email address"),
])
def test_bad_senders_are_named(login, field, value, reason):
    response = login("admin").post("/settings/senders", data={field: value})
    assert response.status_code == 400
    assert reason in field_error(response.get_data(as_text=True), field)


def test_a_number_another_practice_owns_is_a_field_error(login, practice):
    db.session.add(Practice(name="Elsewhere", phone="+13125550100", timezone="America/Chicago",
                            sms_from_number="+13125550188",
                            sms_messaging_service_sid="MG" + "b2" * 16))
    db.session.commit()
    response = login("admin").post("/settings/senders", data={
        "sms_from_number": "+13125550188", "sms_messaging_service_sid": "MG" + "b2" * 16})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "already used by another practice" in field_error(html, "sms_from_number")
    assert "already used by another practice" in field_error(html, "sms_messaging_service_sid")
    db.session.refresh(practice)
    assert practice.sms_from_number is None


def test_the_checklist_in_spanish(login):
    html = login("admin").get("/setup", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Configure su consultorio" in html and "Sedes" in html


@pytest.mark.app_settings(TWILIO_FROM_NUMBER="+13125550111")
def test_with_a_default_sender_the_sms_step_is_done_and_the_default_is_shown(login):
    admin = login("admin")
    assert step_states(admin.get("/setup").get_data(as_text=True))["senders"] == "done"
    assert "Default: (312) 555-0111" in admin.get("/settings/senders").get_data(as_text=True)
