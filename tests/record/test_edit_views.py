"""Adding a patient and editing demographics and contact points from the record, with what a
changed number means for messaging consent (kept per contact point, never carried over)."""

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.patients.models import Patient
from app.security.models import AuditEvent
from tests import factories

FORM = {"given_name": "Olivia", "family_name": "Foster", "date_of_birth": "1990-05-17",
        "sex": "female", "mobile_phone": "(312) 555-0188", "home_phone": "",
        "email": "Olivia@Example.com", "preferred_language": "en", "preferred_channel": "",
        "address_line": "12 Lake St", "city": "Chicago", "state": "il", "postal_code": "60601"}


@pytest.fixture
def staff(login):
    return login("front_desk")


@pytest.fixture
def foster(practice):
    return factories.make_patient(practice, given_name="Olivia", family_name="Foster",
                                  date_of_birth=date(1990, 5, 17), mobile_phone="+13125550188")


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


def test_staff_add_a_patient_and_land_on_the_record(staff):
    response = staff.post("/patients/new", data=FORM)
    assert response.status_code == 302
    patient = db.session.execute(select(Patient)).scalar_one()
    assert response.headers["Location"].endswith(f"/patients/{patient.id}")
    assert (patient.mobile_phone, patient.email, patient.state) == (
        "+13125550188", "olivia@example.com", "IL")
    assert patient.preferred_channel == "sms"
    assert [e.patient_id for e in _events("patient.create")] == [patient.id]
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Patient added." in page and "Olivia Foster" in page


def test_a_bad_new_patient_names_every_bad_field_and_keeps_the_typing(staff):
    response = staff.post("/patients/new", data={**FORM, "given_name": "",
                                                 "date_of_birth": "17/05/1990",
                                                 "mobile_phone": "12"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "missing first name" in page and "bad date" in page
    assert "unparseable mobile phone" in page and 'value="Foster"' in page
    assert db.session.execute(select(Patient)).first() is None


def test_edit_form_shows_the_current_values(staff, foster):
    page = staff.get(f"/patients/{foster.id}/edit").get_data(as_text=True)
    assert 'value="Olivia"' in page and 'value="1990-05-17"' in page
    assert "+13125550188" in page
    assert "not carried over" in page
    assert _events("patient.view")[-1].detail == '{"view":"edit"}'


def test_changing_the_mobile_number_tells_staff_the_new_numbers_consent(staff, practice,
                                                                        foster):
    old = contact_index("sms", "+13125550188")
    consent.record(practice_id=practice.id, channel="sms", contact_index=old, purpose="all",
                   granted=False, source="keyword", patient_id=foster.id)
    db.session.commit()
    response = staff.post(f"/patients/{foster.id}/edit",
                          data={**FORM, "mobile_phone": "312-555-0199", "email": ""})
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Texts now go to (312) 555-0199" in page
    assert ("this number&#39;s own applies (Appointments and replies: On; Billing: Off; "
            "Marketing: Off); nothing was copied from the old number") in page
    assert "(312) 555-0188 had opted out of messages (Patient&#39;s text reply)" in page
    new = contact_index("sms", "+13125550199")
    # the stop stays with the old number; the new one starts from its own (empty) history
    assert consent.is_opted_out(practice_id=practice.id, channel="sms", contact_index=old)
    assert not consent.is_opted_out(practice_id=practice.id, channel="sms", contact_index=new)
    db.session.expire_all()
    assert db.session.get(Patient, foster.id).mobile_phone == "+13125550199"
    assert '"mobile_phone"' in _events("patient.update")[-1].detail


def test_a_new_number_that_opted_out_before_is_called_out(staff, practice, foster):
    new = contact_index("sms", "+13125550199")
    consent.record(practice_id=practice.id, channel="sms", contact_index=new, purpose="all",
                   granted=False, source="carrier")
    db.session.commit()
    response = staff.post(f"/patients/{foster.id}/edit",
                          data={**FORM, "mobile_phone": "312-555-0199"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "(312) 555-0199 opted out of messages earlier (Carrier block)" in page


def test_removing_the_mobile_says_no_texts_will_be_sent(staff, foster):
    response = staff.post(f"/patients/{foster.id}/edit",
                          data={**FORM, "mobile_phone": ""}, follow_redirects=True)
    assert "No mobile number on file any more" in response.get_data(as_text=True)


def test_an_edit_with_bad_input_changes_nothing(staff, foster):
    response = staff.post(f"/patients/{foster.id}/edit", data={**FORM, "email": "not-mail",
                                                               "state": "Illinois"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "invalid email" in page and "is not a two-letter code" in page
    db.session.expire_all()
    assert db.session.get(Patient, foster.id).email == foster.email


def test_only_roles_that_edit_patients_may_add_or_edit(login, foster):
    for role in ("billing", "marketing"):
        client = login(role)
        assert client.get("/patients/new").status_code == 403
        assert client.post(f"/patients/{foster.id}/edit", data=FORM).status_code == 403


def test_another_practices_patient_cannot_be_edited(staff):
    elsewhere = factories.make_practice(name="Elsewhere Dental")
    stranger = factories.make_patient(elsewhere)
    assert staff.get(f"/patients/{stranger.id}/edit").status_code == 404
    assert staff.post(f"/patients/{stranger.id}/edit", data=FORM).status_code == 404
