"""The patient's visit pages behind the link in the confirmation: confirm, cancel with an
optional reason, reschedule and directions, without signing in and without revealing more
than the text did."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core import clock
from app.extensions import db
from app.scheduling.models import Appointment
from tests import factories
from tests.journeys.kit import book, local_day, make_clinic, run_worker_until


@pytest.fixture
def visit_link(practice):
    clinic = make_clinic(practice)
    patient = factories.make_patient(practice, given_name="Rosalind", family_name="Quist")
    visit = book(clinic, patient, local_day(5), "10:00")
    run_worker_until(clinic, clock.utcnow() + timedelta(hours=14))
    confirmation = clinic.texts_to(patient)[0]
    url = re.search(r"http://localhost(/c/\S+)", confirmation).group(1)
    return clinic, visit, url


def reload(visit: Appointment) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, visit.id)


def test_the_page_shows_when_and_where_but_not_who_or_why(client, visit_link):
    clinic, _visit, url = visit_link
    html = client.get(url).get_data(as_text=True)
    assert "Lakeside Loop" in html and "Main St" in html and "Rivera" in html
    assert "google.com/maps/search" in html
    assert 'href="http://localhost/m/' in html  # reschedule: moves this visit
    moving = client.get(re.search(r'href="http://localhost(/m/[^"]+)"', html).group(1))
    assert f"/book/day?type={clinic.kind.id}" in moving.location  # booking pre-filled
    assert "Rosalind" not in html and "Quist" not in html and "Checkup" not in html


def test_confirming_on_the_page_confirms_the_visit(client, visit_link):
    _clinic, visit, url = visit_link
    response = client.post(url, data={"confirm": "1"})
    assert response.status_code == 200
    assert "your visit is confirmed" in response.get_data(as_text=True)
    assert reload(visit).confirmed_at is not None


def test_cancelling_on_the_page_takes_an_optional_reason(client, visit_link):
    _clinic, visit, url = visit_link
    assert client.post(f"{url}/cancel", data={"reason": ""}).status_code == 302
    assert reload(visit).status == "cancelled"
    assert "This visit is cancelled" in client.get(url).get_data(as_text=True)


def test_a_tampered_link_shows_the_friendly_page(client, visit_link):
    _clinic, visit, url = visit_link
    response = client.get(url[:-3] + "abc")
    assert response.status_code == 404
    assert reload(visit).status == "booked"
