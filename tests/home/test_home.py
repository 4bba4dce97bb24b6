"""The staff home page, the staff navigation (app.home)."""

import re

import pytest

from app.core.clock import utcnow
from tests import factories


def test_home_shows_counts_for_the_practice(login, practice):
    location = factories.make_location(practice, name="Lakeside North")
    provider = factories.make_provider(practice, locations=[location])
    patient = factories.make_patient(practice)
    factories.make_patient(practice)
    factories.make_appointment(patient, provider, location, start_at=utcnow())
    html = login("marketing").get("/").get_data(as_text=True)
    counts = dict(re.findall(
        r'class="stat-label">([^<]+)</p>\s*<p class="stat-value">(\d+)<', html))
    assert counts == {"Patients": "2", "Providers": "1", "Appointments today": "1",
                      "Unread conversations": "0"}
    assert "Lakeside North" in html
    assert patient.family_name not in html  # counts only: marketing may see this page


def test_home_in_spanish(login, practice):
    html = login("front_desk").get("/", headers={"Accept-Language": "es"}).get_data(
        as_text=True)
    assert "Citas de hoy" in html and "Pacientes" in html and "Cerrar sesión" in html


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    ("front_desk", ["Home", "Patients"], ["Admin", "Audit"]),
    ("marketing", ["Home"], ["Patients", "Admin"]),
    ("admin", ["Home", "Patients", "Admin", "Audit"], []),
])
def test_staff_sections_follow_the_role(login, role, shown, hidden):
    html = login(role).get("/").get_data(as_text=True)
    nav = html[html.index('class="sections"'):html.index('class="account"')]
    labels = re.findall(r">([^<>]+)</a>", nav)
    assert [label for label in labels if label in shown + hidden] == shown


def test_current_section_is_marked(login):
    html = login("front_desk").get("/patients").get_data(as_text=True)
    assert re.search(r'href="/patients" aria-current="page">Patients<', html)


def test_a_patient_record_is_in_the_patients_section(login, practice):
    patient = factories.make_patient(practice)
    html = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    assert re.search(r'href="/patients" aria-current="page">Patients<', html)
    assert not re.search(r'aria-current="page">Home<', html)
