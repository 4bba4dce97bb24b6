"""Spanish pages speak Spanish about the practice's own things: appointment types by their
Spanish names (English when none is set), consent rules, and time zones by their names."""

from __future__ import annotations

import html
from datetime import time

import pytest

from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from tests import factories


def text(response) -> str:  # noqa: ANN001
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def denver(practice):
    location = factories.make_location(practice, name="Denver", timezone="America/Denver",
                                       state="CO")
    cleaning = factories.make_appointment_type(practice, name="Cleaning")
    cleaning.name_es = "Limpieza"
    exam = factories.make_appointment_type(practice, name="Checkup")  # no Spanish name
    db.session.commit()
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[cleaning.id, exam.id])
    calendars.set_weekly_hours(
        practice_id=practice.id, provider_id=provider.id, location_id=location.id,
        intervals=[WeeklyInterval(day, time(9), time(17)) for day in range(7)])
    return location, provider, cleaning, exam


def test_the_booking_pages_name_types_in_spanish_falling_back_to_english(client, denver):
    _, _, cleaning, _ = denver
    spanish = text(client.get("/book/?lang=es"))
    assert "Limpieza" in spanish and "Cleaning" not in spanish
    assert "Checkup" in spanish  # no Spanish name: the English one
    summary = text(client.get(f"/book/location?type={cleaning.id}&lang=es"))
    assert "Limpieza" in summary
    assert "Cleaning" in text(client.get("/book/?lang=en"))


def test_a_manager_gives_a_type_its_spanish_name_and_spanish_staff_pages_use_it(
        login, practice, denver):
    location, provider, _, exam = denver
    client = login("manager")
    response = client.post(f"/settings/calendars/types/{exam.id}", data={
        "name": "Checkup", "name_es": "  Revisión   general ", "duration_minutes": "60",
        "buffer_before_minutes": "0", "buffer_after_minutes": "0", "bookable_online": "y",
        "active": "y", "min_notice_minutes": "120", "max_days_ahead": "90",
        "provider_ids": [str(provider.id)]})
    assert response.status_code == 302
    patient = factories.make_patient(practice)
    factories.make_appointment(patient, provider, location, appointment_type=exam)

    assert "Revisión general" in text(client.get(f"/patients/{patient.id}?lang=es"))
    english = text(client.get(f"/patients/{patient.id}?lang=en"))
    assert "Checkup" in english and "Revisión" not in english


def test_a_spanish_name_with_clinical_detail_is_refused_by_field(login, denver):
    _, provider, _, exam = denver
    response = login("manager").post(f"/settings/calendars/types/{exam.id}", data={
        "name": "Checkup", "name_es": "Revisión de diabetes", "duration_minutes": "60",
        "buffer_before_minutes": "0", "buffer_after_minutes": "0", "active": "y",
        "min_notice_minutes": "120", "max_days_ahead": "90",
        "provider_ids": [str(provider.id)]})
    assert response.status_code == 400
    assert "leave out clinical detail" in text(response)


def test_staff_calendar_names_the_zone_not_its_id(login, denver):
    location, _, cleaning, _ = denver
    page = text(login("front_desk").get("/schedule", query_string={
        "location_id": location.id, "appointment_type_id": cleaning.id, "lang": "es"}))
    assert "hora de las Montañas Rocosas" in page and "America/Denver" not in page
    page = text(login("front_desk").get("/schedule", query_string={
        "location_id": location.id, "appointment_type_id": cleaning.id}))
    assert "Mountain Time" in page and "America/Denver" not in page


def test_consent_rules_and_reasons_are_in_spanish_on_spanish_staff_pages(login, practice):
    patient = factories.make_patient(practice, mobile_phone="+13125550188", email=None)
    consent.record(practice_id=practice.id, channel="sms",
                   contact_index=contact_index("sms", "+13125550188"), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.CARRIER, patient_id=patient.id,
                   reason="carrier reported the number unsubscribed (21610)")
    db.session.commit()

    page = text(login("front_desk").get(f"/patients/{patient.id}?lang=es"))
    panel = page[page.index('id="consent"'):page.index('id="messages"')]
    assert "el operador informó que el número se dio de baja (21610)" in panel
    assert "se dio de baja de todo mensaje de texto" in panel
    assert "carrier reported" not in panel and "opted out of all" not in panel
