"""From the record: book a visit for this patient (the calendar and booking page carry the
patient), the appointment page links to the visit's patient, and the staff note on an
appointment (encrypted, audited, never the patient's to see)."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from app.core.clock import utcnow
from app.extensions import db
from app.scheduling.models import Appointment
from app.security.models import AuditEvent
from tests import factories
from tests.scheduling.test_self_service import make_office


@pytest.fixture
def staff(login):
    return login("front_desk")


@pytest.fixture
def office(practice):
    return make_office(practice)


@pytest.fixture
def olivia(practice):
    return factories.make_patient(practice, given_name="Olivia", family_name="Foster")


def _day_after_tomorrow() -> str:
    return (utcnow().astimezone(ZoneInfo("America/Chicago")).date()
            + timedelta(days=2)).isoformat()


def test_book_a_visit_from_the_record_carries_the_patient_to_the_booking(staff, office,
                                                                        olivia):
    record = staff.get(f"/patients/{olivia.id}").get_data(as_text=True)
    assert f"/schedule?patient_id={olivia.id}" in record
    day = staff.get(f"/schedule?patient_id={olivia.id}&location_id={office.location.id}"
                    f"&appointment_type_id={office.kind.id}&date={_day_after_tomorrow()}")
    page = day.get_data(as_text=True)
    assert "Booking for Olivia Foster" in page
    slot_link = re.search(r'href="(/schedule/book\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"patient_id={olivia.id}" in slot_link
    book = staff.get(slot_link).get_data(as_text=True)
    assert "Foster, Olivia" in book
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', book))
    response = staff.post("/schedule/book", data=fields)
    assert response.status_code == 302
    booked = db.session.execute(select(Appointment)).scalar_one()
    assert booked.patient_id == olivia.id and booked.source == "staff"


def test_a_patient_id_of_another_practice_is_ignored_on_the_calendar(staff, office):
    stranger = factories.make_patient(factories.make_practice(name="Elsewhere"),
                                      given_name="Eva", family_name="Stranger")
    page = staff.get(f"/schedule?patient_id={stranger.id}").get_data(as_text=True)
    assert "Stranger" not in page and "Booking for" not in page


def test_the_appointment_page_links_to_the_visits_patient(staff, office, olivia):
    visit = factories.make_appointment(olivia, office.provider, office.location,
                                       appointment_type=office.kind)
    page = staff.get(f"/schedule/appointments/{visit.id}").get_data(as_text=True)
    assert f'href="/patients/{olivia.id}" id="visit-patient"' in page


def test_a_staff_note_is_saved_encrypted_audited_and_shown(staff, office, olivia):
    visit = factories.make_appointment(olivia, office.provider, office.location,
                                       appointment_type=office.kind)
    response = staff.post(f"/schedule/appointments/{visit.id}/note",
                          data={"note": "Prefers the left chair; anxious about needles"})
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Note saved." in page and "anxious about needles" in page
    stored = db.session.execute(text("SELECT note FROM appointment")).scalar_one()
    assert "needles" not in stored
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "appointment.change")).scalar_one()
    assert '"change":"note"' in event.detail and "needles" not in event.detail


def test_a_too_long_note_is_refused_and_the_old_one_kept(staff, office, olivia):
    visit = factories.make_appointment(olivia, office.provider, office.location,
                                       appointment_type=office.kind)
    response = staff.post(f"/schedule/appointments/{visit.id}/note", data={"note": "x" * 5000},
                          follow_redirects=True)
    assert "Use at most" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).note is None


def test_another_practices_appointment_note_is_a_404(staff):
    elsewhere = factories.make_practice(name="Elsewhere")
    location = factories.make_location(elsewhere)
    provider = factories.make_provider(elsewhere, locations=[location])
    visit = factories.make_appointment(factories.make_patient(elsewhere), provider, location)
    response = staff.post(f"/schedule/appointments/{visit.id}/note", data={"note": "hi"})
    assert response.status_code == 404
