"""The duplicate screens: the review list for online bookings that resemble a patient, likely
pairs, the side-by-side merge and "not the same person"; and the regression where "Liv
Foster" booking online with Olivia Foster's birth date and phone became a silent duplicate."""

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.patients.models import Patient
from app.scheduling import self_service
from app.scheduling.models import Appointment
from app.scheduling.self_service import Identity, WaitlistWish
from app.security.models import AuditEvent
from tests import factories
from tests.scheduling.test_self_service import first_slot, make_office

BORN = date(1988, 4, 2)
PHONE = "+13125550161"


@pytest.fixture
def staff(login):
    return login("front_desk")


@pytest.fixture
def olivia(practice):
    return factories.make_patient(practice, given_name="Olivia", family_name="Foster",
                                  date_of_birth=BORN, mobile_phone=PHONE)


def _book_online_as_liv(practice) -> Appointment:
    office = make_office(practice)
    return self_service.book_for(practice_id=practice.id,
                                 identity=Identity("Liv", "Foster", BORN, PHONE),
                                 slot=first_slot(office))


def test_liv_booking_online_with_olivias_birth_date_and_phone_is_flagged_for_review(
        staff, practice, olivia):
    appointment = _book_online_as_liv(practice)
    liv = db.session.get(Patient, appointment.patient_id)
    assert liv.id != olivia.id  # booked: the match was not exact
    assert liv.review_match_id == olivia.id
    page = staff.get("/patients/duplicates").get_data(as_text=True)
    review = page[page.index('id="needs-review"'):page.index('id="likely-duplicates"')]
    assert "Foster, Liv" in review and "Foster, Olivia" in review
    record = staff.get(f"/patients/{liv.id}").get_data(as_text=True)
    assert "looks like Olivia Foster" in record


def test_a_stranger_booking_online_is_not_flagged(staff, practice, olivia):
    office = make_office(practice)
    appointment = self_service.book_for(
        practice_id=practice.id, identity=Identity("Ines", "Rojas", BORN, "+13125550123"),
        slot=first_slot(office))
    assert appointment.patient.review_match_id is None


def test_merging_from_the_screen_moves_the_visit_and_redirects_the_old_record(staff, practice,
                                                                           olivia):
    appointment = _book_online_as_liv(practice)
    liv_id = appointment.patient_id
    page = staff.get(f"/patients/merge?first={olivia.id}&second={liv_id}")
    assert page.status_code == 200 and f"Keep #{olivia.id}" in page.get_data(as_text=True)
    groups = {g: "first" for g in ("name", "date_of_birth", "sex", "mobile_phone",
                                   "home_phone", "email", "preferred_language",
                                   "preferred_channel", "address", "external_id")}
    response = staff.post("/patients/merge", data={"first_id": olivia.id, "second_id": liv_id,
                                                   "keep": "first", **groups})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{olivia.id}")
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).patient_id == olivia.id
    old = staff.get(f"/patients/{liv_id}")
    assert old.status_code == 302 and old.headers["Location"].endswith(f"/patients/{olivia.id}")
    record = staff.get(f"/patients/{olivia.id}").get_data(as_text=True)
    assert f"#{liv_id}" in record and "Merged into this record" in record
    assert staff.get("/patients/duplicates").get_data(as_text=True).count("Foster, Liv") == 0


def test_a_merge_without_choices_says_what_is_missing(staff, practice, olivia):
    other = factories.make_patient(practice, given_name="Liv", family_name="Foster",
                                   date_of_birth=BORN)
    response = staff.post("/patients/merge", data={"first_id": olivia.id,
                                                   "second_id": other.id})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Choose the record to keep." in page
    assert db.session.get(Patient, other.id).merged_into_id is None


def test_not_the_same_person_takes_the_pair_off_the_list(staff, practice, olivia):
    twin = factories.make_patient(practice, given_name="Noah", family_name="Foster",
                                  date_of_birth=BORN, mobile_phone=PHONE)
    assert "Foster, Noah" in staff.get("/patients/duplicates").get_data(as_text=True)
    response = staff.post("/patients/duplicates/dismiss",
                          data={"first_id": olivia.id, "second_id": twin.id})
    assert response.status_code == 302
    assert "Foster, Noah" not in staff.get("/patients/duplicates").get_data(as_text=True)
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "patient.review")).scalar_one().patient_id == olivia.id


def test_merge_pages_without_two_records_go_back_to_the_list(staff):
    response = staff.get("/patients/merge?first=abc")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/patients/duplicates")


def test_front_desk_and_managers_merge_billing_and_marketing_may_not(login, olivia):
    for role, status in (("manager", 200), ("front_desk", 200), ("billing", 403),
                         ("marketing", 403)):
        assert login(role).get("/patients/duplicates").status_code == status, role


def test_joining_the_waitlist_online_as_a_look_alike_is_flagged_too(app, practice, olivia):
    office = make_office(practice)
    joined = self_service.join_waitlist(
        practice_id=practice.id, identity=Identity("Liv", "Foster", BORN, PHONE),
        wish=WaitlistWish(appointment_type_id=office.kind.id, location_id=office.location.id,
                          provider_id=None, weekdays=(0, 1, 2, 3, 4),
                          time_of_day=self_service.ANY_TIME))
    assert db.session.get(Patient, joined.entry.patient_id).review_match_id == olivia.id
