from datetime import date

import pytest

from app.extensions import db
from app.patients import lookups, services
from app.patients.models import Household, Patient
from app.security.models import AuditEvent
from tests import factories


def _values(**overrides):
    raw = {"given_name": "Rosa", "family_name": "Peña", "date_of_birth": "1984-02-29",
           "mobile_phone": "(312) 555-0147", "email": " Rosa.Pena@Example.COM ",
           "preferred_language": "es", "sex": "F", "state": "il"}
    raw.update(overrides)
    return services.clean_patient_fields(raw)


def test_clean_fields_normalizes_phone_email_state_and_words():
    values = _values()
    assert values.mobile_phone == "+13125550147"
    assert values.email == "rosa.pena@example.com"
    assert values.sex == "female"
    assert values.preferred_language == "es"
    assert values.state == "IL"
    assert values.date_of_birth == date(1984, 2, 29)


def test_clean_fields_reports_every_bad_field_by_name():
    with pytest.raises(services.PatientInputError) as caught:
        services.clean_patient_fields({"given_name": "", "family_name": "Lee",
                                       "date_of_birth": "02/30/1990", "mobile_phone": "12",
                                       "email": "not-an-email", "preferred_language": "fr",
                                       "sex": "q"})
    assert set(caught.value.errors) == {"given_name", "date_of_birth", "mobile_phone", "email",
                                        "preferred_language", "sex"}
    assert "missing first name" in caught.value.errors["given_name"]
    assert "'02/30/1990'" in caught.value.errors["date_of_birth"]


def test_future_birth_date_is_refused():
    with pytest.raises(services.PatientInputError, match="not plausible"):
        _values(date_of_birth="2999-01-01")


def test_created_patient_is_found_by_phone_and_by_name_and_birth_date(practice):
    patient = services.create_patient(practice_id=practice.id, values=_values())
    db.session.commit()
    assert lookups.patients_by_phone(practice_id=practice.id, e164="+13125550147") == [patient]
    found = lookups.patients_by_name_and_birth_date(
        practice_id=practice.id, given_name="ROSA", family_name="pena",
        date_of_birth=date(1984, 2, 29))
    assert found == [patient]
    event = db.session.execute(db.select(AuditEvent)).scalars().one()
    assert (event.action, event.patient_id) == ("patient.create", patient.id)


def test_patients_sharing_a_mobile_form_one_household_which_dissolves_when_one_leaves(practice):
    mother = services.create_patient(practice_id=practice.id, values=_values())
    child = services.create_patient(practice_id=practice.id,
                                    values=_values(given_name="Lucia", date_of_birth="2015-06-01"))
    db.session.commit()
    assert mother.household_id is not None
    assert mother.household_id == child.household_id

    changes = services.update_patient(patient=child, values=_values(
        given_name="Lucia", date_of_birth="2015-06-01", mobile_phone="312-555-0199"))
    db.session.commit()
    assert changes == ["mobile_phone"]
    assert child.household_id is None
    assert db.session.get(Patient, mother.id).household_id is None
    assert db.session.execute(db.select(Household)).scalars().all() == []


def test_update_with_same_values_changes_nothing_and_audits_nothing(practice):
    patient = services.create_patient(practice_id=practice.id, values=_values())
    db.session.commit()
    assert services.update_patient(patient=patient, values=_values()) == []
    assert db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar_one() == 1


def test_patients_are_found_by_email_in_any_case(practice):
    patient = services.create_patient(practice_id=practice.id, values=_values())
    db.session.commit()
    assert lookups.patients_by_email(practice_id=practice.id,
                                      email="ROSA.PENA@example.com") == [patient]


def test_renaming_a_patient_replaces_the_name_prefixes_search_uses(app, practice):
    from app.patients import queries

    patient = factories.make_patient(practice, given_name="Olivia", family_name="Foster")
    values = services.clean_patient_fields({"given_name": "Olivia", "family_name": "Brandt",
                                            "date_of_birth": patient.date_of_birth})
    services.update_patient(patient=patient, values=values)
    db.session.commit()
    found = queries.search_patients(practice_id=practice.id, query="Bra")
    assert [p.id for p in found.patients] == [patient.id]
    assert queries.search_patients(practice_id=practice.id, query="Fos").patients == []


def test_reindex_command_fills_the_name_prefixes_of_patients_stored_before_them(app, practice,
                                                                               runner):
    from app.patients import queries
    from app.patients.models import PatientNameToken

    patient = factories.make_patient(practice, given_name="Maria", family_name="Garcia")
    db.session.execute(PatientNameToken.__table__.delete())
    db.session.commit()
    assert queries.search_patients(practice_id=practice.id, query="Gar").patients == []
    result = runner.invoke(args=["patients", "reindex"])
    assert result.exit_code == 0 and "Reindexed 1 patients" in result.output
    found = queries.search_patients(practice_id=practice.id, query="Gar")
    assert [p.id for p in found.patients] == [patient.id]
