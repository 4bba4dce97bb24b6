"""The staff waitlist screen: who is waiting, adding a patient found by search, removing with
a confirmation, and the offers made, with times in the location's zone."""

from __future__ import annotations

import html
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.patients.models import Patient
from app.scheduling.models import WaitlistEntry
from app.scheduling.waitlist import entries as waitlist_entries
from app.scheduling.waitlist import queries as waitlist_queries
from tests import factories
from tests.scheduling.test_waitlist import (
    Clinic,
    book_and_cancel,
    make_clinic,
    slot_at,
    sweep,
    wait,
)

URL = "/schedule/waitlist"


@pytest.fixture
def clinic(practice) -> Clinic:
    return make_clinic(practice)


def page(client, **args: object) -> str:  # noqa: ANN001
    response = client.get(URL, query_string=args)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def entries() -> list[WaitlistEntry]:
    db.session.expire_all()
    return list(db.session.execute(select(WaitlistEntry).order_by(WaitlistEntry.id)).scalars())


def add_data(clinic: Clinic, patient: Patient, **changes: object) -> dict[str, object]:
    return {"q": patient.family_name, "patient_id": patient.id,
            "appointment_type_id": clinic.exam.id, "location_id": clinic.location.id,
            "provider_ids": [clinic.rivera.id], "weekdays": ["1", "3"],
            "earliest_time": "13:00", "latest_time": "16:30", "priority": "2", **changes}


def test_the_screen_lists_who_is_waiting_and_the_offers_made(login, clinic):
    offered = wait(clinic, providers=(clinic.rivera,))
    waiting = wait(clinic, priority=3, weekdays=(0, 4), window=("08:00", "11:30"))
    book_and_cancel(clinic, slot_at(clinic, "15:00"))

    text = page(login("front_desk"))

    assert f"{offered.family_name}, {offered.given_name}" in text
    assert f"{waiting.family_name}, {waiting.given_name}" in text
    assert text.index(waiting.family_name) < text.index(offered.family_name)  # priority first
    assert "Mon, Fri" in text
    assert "8:00\u202fAM–11:30\u202fAM" in text
    assert "Dr. Ana Rivera" in text and "Lakeside Midtown" in text
    # the offer, with the slot in New York time
    assert "Recent offers" in text
    assert "3:00\u202fPM EST" in text or "3:00\u202fPM EDT" in text
    assert "Offered" in text


def test_an_expired_offer_reads_expired(login, clinic):
    wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    sweep(now=utcnow() + timedelta(minutes=121))

    text = page(login("front_desk"))

    assert "Expired" in text


def test_filters_narrow_the_list(login, clinic):
    other = factories.make_location(clinic.practice, name="Uptown")
    here = wait(clinic)
    there = factories.make_patient(clinic.practice)
    waitlist_entries.join(practice_id=clinic.practice.id, patient_id=there.id,
                  appointment_type_id=clinic.exam.id, location_id=other.id)
    db.session.commit()

    text = page(login("front_desk"), location_id=other.id)

    assert there.family_name in text and here.family_name not in text
    assert page(login("front_desk"), location_id="abc")  # a bad filter is ignored, not a 500


def test_a_patient_is_found_and_added(login, clinic):
    patient = factories.make_patient(clinic.practice, family_name="Quintero")
    client = login("front_desk")

    found = html.unescape(client.post(f"{URL}/patients", data={"q": "Quintero"}
                                      ).get_data(as_text=True))
    assert f'name="patient_id" id="patient-{patient.id}" value="{patient.id}"' in found
    assert found.index('name="weekdays" value="0"') < found.index('name="weekdays" value="6"')
    partial = client.post(f"{URL}/patients", data={"q": "Quintero"},
                          headers={"HX-Request": "true"})
    assert "Quintero, Maria" in partial.get_data(as_text=True)
    assert "<html" not in partial.get_data(as_text=True)

    response = client.post(URL, data=add_data(clinic, patient))

    assert response.status_code == 302
    [entry] = entries()
    assert (entry.patient_id, entry.weekdays, entry.earliest_time, entry.latest_time,
            entry.priority, entry.source) == (patient.id, "1,3", time(13), time(16, 30), 2,
                                              "staff")
    assert [p.id for p in entry.providers] == [clinic.rivera.id]
    assert "Quintero, Maria" in page(client)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"patient_id": ""}, "patient_id", "Choose a patient."),
    ({"weekdays": []}, "weekdays", "Choose one or more days of the week."),
    ({"earliest_time": "17:00"}, "latest_time", "Must not be before the earliest time."),
    ({"earliest_time": "5pm"}, "earliest_time", "Not a valid time value."),
    ({"priority": "-1"}, "priority", "Use a whole number from 0 to 100."),
    ({"location_id": ""}, "location_id", "Location is missing."),
])
def test_a_bad_field_is_named_and_nothing_is_added(login, clinic, changes, field, message):
    patient = factories.make_patient(clinic.practice, family_name="Quintero")

    response = login("front_desk").post(URL, data=add_data(clinic, patient, **changes))

    assert response.status_code == 400
    text = html.unescape(response.get_data(as_text=True))
    assert message in text
    assert entries() == []
    if field != "patient_id":  # the search is shown again, the patient still chosen
        assert f'value="{patient.id}" checked' in text


def test_the_service_refusals_are_shown_on_their_fields(login, clinic):
    stranger = factories.make_patient(factories.make_practice())
    elsewhere = factories.make_provider(clinic.practice, family_name="Nakamura")
    patient = factories.make_patient(clinic.practice)
    client = login("front_desk")

    refused = client.post(URL, data=add_data(clinic, stranger))
    assert refused.status_code == 400
    assert "There is no such patient in this practice." in refused.get_data(as_text=True)

    refused = client.post(URL, data=add_data(clinic, patient, provider_ids=[elsewhere.id]))
    assert refused.status_code == 400
    assert "Every provider chosen must work at Lakeside Midtown." in html.unescape(
        refused.get_data(as_text=True))
    assert entries() == []


def test_a_patient_already_waiting_for_the_type_there_is_not_added_twice(login, clinic):
    patient = factories.make_patient(clinic.practice)
    client = login("front_desk")
    assert client.post(URL, data=add_data(clinic, patient)).status_code == 302

    again = client.post(URL, data=add_data(clinic, patient, priority="5"))

    assert again.status_code == 400
    assert "This patient is already waiting for Exam at Lakeside Midtown." in html.unescape(
        again.get_data(as_text=True))
    assert len(entries()) == 1


def test_remove_takes_the_patient_off_and_ends_their_offers(login, clinic):
    patient = wait(clinic)
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    [entry] = entries()
    client = login("front_desk")
    assert f"/schedule/waitlist/{entry.id}/remove" in page(client)

    response = client.post(f"{URL}/{entry.id}/remove")

    assert response.status_code == 302
    [entry] = entries()
    assert entry.status == "removed"
    [view] = waitlist_queries.offers_for_entry(entry_id=entry.id)
    assert view.status == "expired"
    text = page(client)
    assert "Removed from the waitlist." in text
    assert "Nobody is waiting." in text
    assert patient.family_name in text  # still in the offers made

    again = client.post(f"{URL}/{entry.id}/remove", follow_redirects=True)
    assert "This patient is no longer waiting." in html.unescape(again.get_data(as_text=True))


def test_another_practices_entry_cannot_be_removed(login, clinic):
    other = make_clinic(factories.make_practice())
    wait(other)
    [entry] = entries()

    response = login("front_desk").post(f"{URL}/{entry.id}/remove", follow_redirects=True)

    assert "There is no such waitlist entry." in html.unescape(response.get_data(as_text=True))
    assert entries()[0].status == "waiting"


@pytest.mark.parametrize("role", ["billing", "marketing"])
def test_roles_without_the_schedule_cannot_see_or_change_the_waitlist(login, clinic, role):
    patient = wait(clinic)
    [entry] = entries()
    client = login(role)

    assert client.get(URL).status_code == 403
    assert client.post(URL, data=add_data(clinic, patient)).status_code == 403
    assert client.post(f"{URL}/{entry.id}/remove").status_code == 403
    assert entries()[0].status == "waiting"


def test_the_schedule_links_to_the_waitlist_and_the_page_speaks_spanish(login, clinic):
    client = login("front_desk")
    assert 'href="/schedule/waitlist' in client.get("/schedule").get_data(as_text=True)
    wait(clinic)

    text = page(client, lang="es")

    assert "Lista de espera" in text and "Añadir a la lista de espera" in text
    assert "Cualquier profesional" in text
