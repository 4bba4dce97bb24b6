"""What the set-up screens refuse, beside the field and in the page's language: the messaging
window (8 AM–9 PM, an hour at least), a US location's state and ZIP code, and the reasons the
practice, location, provider and sender checks give in Spanish."""

from __future__ import annotations

from datetime import time

import pytest

from app.extensions import db
from app.practice.models import Location
from tests.setup.test_setup_views import LOCATION, field_error

DETAILS = {"name": "Lakeside Family Dental", "phone": "(312) 555-0100", "email": "",
           "website": "", "timezone": "America/Chicago"}
SPANISH = {"Accept-Language": "es"}


@pytest.mark.parametrize(("start", "end", "field", "reason"), [
    ("06:00", "20:00", "send_window_start", "messages may not be sent before 8:00 AM"),
    ("09:00", "23:00", "send_window_end", "messages may not be sent after 9:00 PM"),
    ("20:30", "21:00", "send_window_end",
     "the window must end at least one hour after it starts"),
])
def test_a_messaging_window_outside_the_federal_hours_or_too_short_is_refused(
        login, practice, start, end, field, reason):
    response = login("admin").post("/settings/practice", data=DETAILS | {
        "send_window_start": start, "send_window_end": end})
    assert response.status_code == 400
    assert reason in field_error(response.get_data(as_text=True), field)
    db.session.refresh(practice)
    assert (practice.send_window_start, practice.send_window_end) == (time(8), time(21))


def test_the_widest_window_and_a_one_hour_window_are_saved(login, practice):
    admin = login("admin")
    for start, end in (("08:00", "21:00"), ("19:00", "20:00")):
        response = admin.post("/settings/practice", data=DETAILS | {
            "send_window_start": start, "send_window_end": end})
        assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(practice)
    assert (practice.send_window_start, practice.send_window_end) == (time(19), time(20))


def test_a_location_needs_a_us_state_and_zip_code(login, practice):
    admin = login("admin")
    response = admin.post("/settings/locations/new",
                          data=LOCATION | {"state": "ZZ", "postal_code": "ABCDE"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "'ZZ' is not a US state or territory" in field_error(html, "state")
    assert "'ABCDE' is not a ZIP code (12345 or 12345-6789)" in field_error(html, "postal_code")
    assert db.session.query(Location).count() == 0
    assert 'maxlength="2"' not in admin.get("/settings/locations/new").get_data(as_text=True)


@pytest.mark.parametrize(("state", "postal_code", "stored"), [
    ("Illinois", "60601", "IL"), ("new  york", "10001-1234", "NY"), ("pr", "00901", "PR")])
def test_a_state_name_is_stored_as_its_code(login, practice, state, postal_code, stored):
    response = login("admin").post("/settings/locations/new", data=LOCATION | {
        "state": state, "postal_code": postal_code})
    assert response.status_code == 302, response.get_data(as_text=True)
    location = db.session.query(Location).one()
    assert (location.state, location.postal_code) == (stored, postal_code)


def test_location_errors_in_spanish(login, practice):
    response = login("admin").post("/settings/locations/new", headers=SPANISH, data=LOCATION | {
        "name": "", "phone": "5", "timezone": "Chicago", "state": "ZZ"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "name") == "falta: nombre"
    assert field_error(html, "phone") == "número de teléfono no reconocible: '5'"
    assert field_error(html, "timezone") == (
        "zona horaria desconocida 'Chicago' (un nombre IANA como America/Chicago)")
    assert field_error(html, "state").startswith("'ZZ' no es un estado ni territorio de EE. UU.")


def test_provider_details_and_sender_errors_in_spanish(login, practice):
    admin = login("admin")
    html = admin.post("/settings/providers/new", headers=SPANISH, data={
        "given_name": "Ana", "family_name": "", "npi": "1234567890", "active": "y"}
    ).get_data(as_text=True)
    assert field_error(html, "npi") == (
        "'1234567890' no es un NPI válido (diez dígitos con un dígito de control)")
    assert field_error(html, "family_name") == "falta: apellido"
    html = admin.post("/settings/practice", headers=SPANISH, data=DETAILS | {
        "phone": "llámenos", "send_window_start": "07:00", "send_window_end": "20:00"}
    ).get_data(as_text=True)
    assert field_error(html, "phone") == (
        "número de teléfono: 'llámenos' no es un número de teléfono")
    assert field_error(html, "send_window_start").startswith(
        "no se pueden enviar mensajes antes de las 8:00 a. m.")
    html = admin.post("/settings/senders", headers=SPANISH, data={
        "sms_messaging_service_sid": "MG123", "email_from_address": "desk@"}
    ).get_data(as_text=True)
    assert field_error(html, "sms_messaging_service_sid").startswith(
        "'MG123' no es un SID de Messaging Service")
    assert "no es una dirección de correo electrónico" in field_error(html, "email_from_address")
