"""Duplicate records: which pairs resemble each other, the online-booking review flag, and the
merge that moves everything naming the duplicate to the survivor."""

from datetime import date

import pytest
from sqlalchemy import select

from app.auditlog import queries as audit_queries
from app.auditlog.queries import AuditFilter
from app.extensions import db
from app.intake.models import QuestionnaireResponse
from app.messaging import consent
from app.messaging.conversations import contact_index, get_or_create
from app.messaging.models import ConsentEntry, Message, conversation_patient
from app.patients import duplicates, lookups, merge, queries, services
from app.patients.models import Patient
from app.scheduling.models import Appointment, WaitlistEntry
from app.security import audit
from app.security.models import AuditEvent
from tests import factories

BORN = date(1988, 4, 2)


@pytest.fixture
def olivia(practice):
    return factories.make_patient(practice, given_name="Olivia", family_name="Foster",
                                  date_of_birth=BORN, mobile_phone="+13125550161",
                                  email="olivia@example.com")


@pytest.fixture
def liv(practice):
    return factories.make_patient(practice, given_name="Liv", family_name="Foster",
                                  date_of_birth=BORN, mobile_phone="+13125550162", email=None,
                                  address_line="9 Elm St", city="Chicago", state="IL")


def test_pairs_share_a_birth_date_and_a_phone_or_a_similar_name(app, practice, olivia, liv):
    twin = factories.make_patient(practice, given_name="Noah", family_name="Foster",
                                  date_of_birth=BORN, mobile_phone="+13125550161")
    factories.make_patient(practice, given_name="Olivia", family_name="Foster",
                           date_of_birth=date(1990, 1, 1))  # another birth date
    factories.make_patient(practice, given_name="Mia", family_name="Stone", date_of_birth=BORN)
    pairs = duplicates.likely_pairs(practice_id=practice.id)
    found = {(p.first.id, p.second.id): (p.same_phone, p.similar_name) for p in pairs}
    assert found == {(olivia.id, liv.id): (False, True), (olivia.id, twin.id): (True, False)}
    duplicates.dismiss(practice_id=practice.id, first_id=twin.id, second_id=olivia.id,
                       staff_id=None)
    assert [(p.first.id, p.second.id) for p in duplicates.likely_pairs(
        practice_id=practice.id)] == [(olivia.id, liv.id)]


def test_merge_moves_everything_to_the_survivor_and_keeps_the_duplicate_as_merged(
        app, practice, olivia, liv):
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    visit = factories.make_appointment(liv, provider, location)
    message = factories.make_message(liv)
    shared = get_or_create(practice_id=practice.id, channel="sms", address="+13125550100",
                           patient_ids=[olivia.id, liv.id])
    own = get_or_create(practice_id=practice.id, channel="sms", address=liv.mobile_phone,
                        patient_ids=[liv.id])
    consent.record(practice_id=practice.id, channel="sms", purpose="marketing", granted=True,
                   contact_index=contact_index("sms", liv.mobile_phone), source="staff",
                   patient_id=liv.id)
    waiting = WaitlistEntry(practice_id=practice.id, patient_id=liv.id,
                            appointment_type_id=visit.appointment_type_id,
                            location_id=location.id)
    answers = QuestionnaireResponse(practice_id=practice.id, patient_id=liv.id,
                                    status="completed", content="{}")
    db.session.add_all([waiting, answers])
    audit.record(audit.Action.PATIENT_VIEW, patient_id=liv.id)
    db.session.commit()
    result = merge.merge_patients(practice_id=practice.id, survivor_id=olivia.id,
                                  merged_id=liv.id, take_from_merged={"address"}, staff_id=None)
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).patient_id == olivia.id
    assert db.session.get(Message, message.id).patient_id == olivia.id
    assert db.session.get(WaitlistEntry, waiting.id).patient_id == olivia.id
    assert db.session.get(QuestionnaireResponse, answers.id).patient_id == olivia.id
    assert db.session.execute(select(ConsentEntry.patient_id)).scalars().all() == [olivia.id]
    links = {(c, p) for c, p in db.session.execute(select(conversation_patient))}
    assert links == {(shared.id, olivia.id), (own.id, olivia.id)}
    assert result.moved["appointment"] == 1
    survivor = db.session.get(Patient, olivia.id)
    assert (survivor.given_name, survivor.address_line, survivor.mobile_phone) == (
        "Olivia", "9 Elm St", "+13125550161")
    gone = db.session.get(Patient, liv.id)
    assert gone.merged_into_id == olivia.id and gone.given_name == "Liv"
    assert lookups.patients_by_phone(practice_id=practice.id, e164="+13125550162") == []
    found = queries.search_patients(practice_id=practice.id, query="Foster").patients
    assert [p.id for p in found] == [olivia.id]
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "patient.merge")).scalar_one()
    assert event.patient_id == olivia.id and f'"merged_patient_id":{liv.id}' in event.detail
    # the duplicate's own trail is found under the survivor, and was not rewritten
    trail = audit_queries.events_query(filters=AuditFilter(patient_id=olivia.id),
                                       zone=audit_queries.practice_zone(
                                           practice_id=practice.id, default="UTC"))
    assert liv.id in {e.patient_id for e in db.session.execute(trail).scalars()}
    assert audit.verify_chain().intact


def test_the_survivor_may_take_the_duplicates_number_and_record_number(app, practice, olivia,
                                                                      liv):
    liv.external_id = "A-17"
    liv.refresh_indexes()
    db.session.commit()
    merge.merge_patients(practice_id=practice.id, survivor_id=olivia.id, merged_id=liv.id,
                         take_from_merged={"mobile_phone", "external_id", "name"},
                         staff_id=None)
    db.session.expire_all()
    assert [p.id for p in lookups.patients_by_phone(
        practice_id=practice.id, e164="+13125550162")] == [olivia.id]
    assert lookups.patient_by_external_id(practice_id=practice.id,
                                          external_id="A-17").id == olivia.id
    assert db.session.get(Patient, olivia.id).full_name == "Liv Foster"


def test_a_merge_into_a_merged_record_is_refused_and_chains_are_flattened(app, practice,
                                                                         olivia, liv):
    third = factories.make_patient(practice, given_name="Olive", family_name="Foster",
                                   date_of_birth=BORN)
    merge.merge_patients(practice_id=practice.id, survivor_id=liv.id, merged_id=third.id,
                         take_from_merged=set(), staff_id=None)
    with pytest.raises(merge.MergeError):
        merge.merge_patients(practice_id=practice.id, survivor_id=third.id,
                             merged_id=olivia.id, take_from_merged=set(), staff_id=None)
    merge.merge_patients(practice_id=practice.id, survivor_id=olivia.id, merged_id=liv.id,
                         take_from_merged=set(), staff_id=None)
    assert merge.merged_ids(patient_id=olivia.id) == [liv.id, third.id]


def test_records_of_another_practice_cannot_be_merged(app, practice, olivia):
    elsewhere = factories.make_patient(factories.make_practice(name="Elsewhere"),
                                       date_of_birth=BORN)
    with pytest.raises(merge.MergeError):
        merge.merge_patients(practice_id=practice.id, survivor_id=olivia.id,
                             merged_id=elsewhere.id, take_from_merged=set(), staff_id=None)
    assert db.session.get(Patient, elsewhere.id).merged_into_id is None


def test_a_new_record_resembling_a_patient_is_flagged_only_when_asked(app, practice, olivia):
    values = services.clean_patient_fields({"given_name": "Liv", "family_name": "Foster",
                                            "date_of_birth": BORN})
    quiet = services.create_patient(practice_id=practice.id, values=values)
    flagged = services.create_patient(practice_id=practice.id, values=values,
                                      review_if_resembling=True)
    db.session.commit()
    assert quiet.review_match_id is None
    assert flagged.review_match_id == olivia.id
    assert [(new.id, match.id) for new, match in duplicates.needs_review(
        practice_id=practice.id)] == [(flagged.id, olivia.id)]
    duplicates.dismiss(practice_id=practice.id, first_id=olivia.id, second_id=flagged.id,
                       staff_id=None)
    assert duplicates.needs_review(practice_id=practice.id) == []
