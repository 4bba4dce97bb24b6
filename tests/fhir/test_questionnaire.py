"""FHIR Questionnaire and QuestionnaireResponse: the official examples round trip, answers
checked against held questionnaires, encryption at rest, search, versioned update, audit."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.extensions import db
from app.intake.models import QuestionnaireResponse
from app.security.models import AuditEvent
from tests import factories
from tests.fhir.outcome import expressions, issues
from tests.fhir.test_generated_inputs import assert_no_server_error, mutate

F201_URL = "http://hl7.org/fhir/Questionnaire/f201"
Q3141_URL = "http://hl7.org/fhir/Questionnaire/3141"


def without_server_elements(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key not in ("id", "meta")}


def created(fhir, resource_type: str, resource: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    response = fhir.post(f"/fhir/{resource_type}", resource)
    assert response.status_code == 201, response.data
    return response.get_json()


def f201_answers(patient_id: int, **changes: Any) -> dict[str, Any]:
    """A completed response to Questionnaire f201 (Lifelines) whose answers fit it."""
    return {"resourceType": "QuestionnaireResponse", "status": "completed",
            "questionnaire": F201_URL, "subject": {"reference": f"Patient/{patient_id}"},
            "authored": "2024-03-05T09:30:00-06:00",
            "item": [{"linkId": "1", "answer": [{"valueBoolean": True}]},
                     {"linkId": "2", "item": [
                         {"linkId": "2.1", "answer": [{"valueString": "Female"}]},
                         {"linkId": "2.2", "answer": [{"valueDate": "1960-03-13"}]}]}],
            **changes}


@pytest.mark.parametrize("name", ["Questionnaire-3141.json", "Questionnaire-f201.json"])
def test_the_official_questionnaires_read_back_as_posted(fhir, example, name):
    posted = example(name)
    new = created(fhir, "Questionnaire", posted)

    read = fhir.get(f"/fhir/Questionnaire/{new['id']}")
    assert read.status_code == 200
    assert read.headers["ETag"] == f'W/"{read.get_json()["meta"]["versionId"]}"'
    back = read.get_json()
    FhirQuestionnaire.model_validate(back)
    assert without_server_elements(back) == without_server_elements(posted)


def test_the_official_f201_response_reads_back_as_posted_for_our_patient(fhir, example,
                                                                          practice):
    posted = example("QuestionnaireResponse-f201.json")
    as_is = fhir.post("/fhir/QuestionnaireResponse", posted)
    assert as_is.status_code == 400  # Patient/f201 is not one of our patients
    assert expressions(as_is) == ["QuestionnaireResponse.subject"]

    patient = factories.make_patient(practice)
    posted["subject"]["reference"] = f"Patient/{patient.id}"
    new = created(fhir, "QuestionnaireResponse", posted)

    back = fhir.get(f"/fhir/QuestionnaireResponse/{new['id']}").get_json()
    FhirQuestionnaireResponse.model_validate(back)
    assert without_server_elements(back) == without_server_elements(posted)
    row = db.session.get(QuestionnaireResponse, int(new["id"]))
    assert (row.patient_id, row.status, row.source) == (patient.id, "completed", "fhir")
    assert row.authored_at.isoformat() == "2013-06-17T23:00:00+00:00"


def test_the_official_3141_response_with_a_contained_patient_is_kept_without_a_patient(
        fhir, example):
    posted = example("QuestionnaireResponse-3141.json")
    new = created(fhir, "QuestionnaireResponse", posted)

    back = fhir.get(f"/fhir/QuestionnaireResponse/{new['id']}").get_json()
    FhirQuestionnaireResponse.model_validate(back)
    assert without_server_elements(back) == without_server_elements(posted)
    assert back["contained"][0]["birthDate"] == "1972-11-30"
    row = db.session.get(QuestionnaireResponse, int(new["id"]))
    assert (row.patient_id, row.questionnaire_id) == (None, None)


def test_the_3141_response_checked_against_its_questionnaire(fhir, example):
    """The R4 example response names no questionnaire; linked to Questionnaire 3141 (which we
    hold), its answer to 1.1.1.3 is refused: that questionnaire has no such item."""
    questionnaire = created(fhir, "Questionnaire", example("Questionnaire-3141.json"))
    linked = {**example("QuestionnaireResponse-3141.json"), "questionnaire": Q3141_URL}

    refused = fhir.post("/fhir/QuestionnaireResponse", linked)
    assert refused.status_code == 400
    assert expressions(refused) == [
        "QuestionnaireResponse.item[0].item[0].answer[0].item[0].item[2].linkId"]
    assert "'1.1.1.3'" in issues(refused)[0]["diagnostics"]

    cardial = linked["item"][0]["item"][0]["answer"][0]["item"][0]
    del cardial["item"][2]
    by_reference = {**linked, "questionnaire": f"Questionnaire/{questionnaire['id']}"}
    for accepted in (linked, by_reference):
        new = created(fhir, "QuestionnaireResponse", accepted)
        row = db.session.get(QuestionnaireResponse, int(new["id"]))
        assert row.questionnaire_id == int(questionnaire["id"])


def test_answers_are_encrypted_at_rest_and_questions_are_not(fhir, example, practice):
    patient = factories.make_patient(practice)
    created(fhir, "Questionnaire", example("Questionnaire-f201.json"))
    posted = example("QuestionnaireResponse-f201.json")
    posted["subject"]["reference"] = f"Patient/{patient.id}"
    created(fhir, "QuestionnaireResponse", posted)

    raw_answers = db.session.execute(text("SELECT content FROM questionnaire_response")
                                     ).scalar_one()
    assert "house dust" not in raw_answers
    assert raw_answers.startswith("fd1:")
    raw_questions = db.session.execute(text("SELECT definition FROM questionnaire")
                                       ).scalar_one()
    assert "Do you have allergies?" in raw_questions


def test_an_answer_of_the_wrong_type_is_refused_naming_the_answer(fhir, example, practice):
    patient = factories.make_patient(practice)
    created(fhir, "Questionnaire", example("Questionnaire-f201.json"))
    wrong = f201_answers(patient.id)
    wrong["item"][1]["item"][1]["answer"] = [{"valueString": "13 March 1960"}]

    response = fhir.post("/fhir/QuestionnaireResponse", wrong)
    assert response.status_code == 400
    assert expressions(response) == ["QuestionnaireResponse.item[1].item[1].answer[0]"]
    assert "valueDate" in issues(response)[0]["diagnostics"]
    created(fhir, "QuestionnaireResponse", f201_answers(patient.id))


def test_unknown_or_misplaced_link_ids_and_answers_to_groups_are_refused(fhir, example,
                                                                        practice):
    patient = factories.make_patient(practice)
    created(fhir, "Questionnaire", example("Questionnaire-f201.json"))
    unknown = f201_answers(patient.id)
    unknown["item"].append({"linkId": "9", "answer": [{"valueString": "?"}]})
    misplaced = f201_answers(patient.id)
    misplaced["item"].append({"linkId": "2.3", "answer": [{"valueString": "Peru"}]})
    group_answered = f201_answers(patient.id)
    group_answered["item"][1]["answer"] = [{"valueString": "general"}]

    for body, expression in ((unknown, "QuestionnaireResponse.item[2].linkId"),
                             (misplaced, "QuestionnaireResponse.item[2].linkId"),
                             (group_answered, "QuestionnaireResponse.item[1].answer[0]")):
        response = fhir.post("/fhir/QuestionnaireResponse", body)
        assert response.status_code == 400, body
        assert expressions(response) == [expression]


def test_a_completed_response_must_answer_the_required_items(fhir, practice):
    patient = factories.make_patient(practice)
    created(fhir, "Questionnaire", {
        "resourceType": "Questionnaire", "url": "urn:frontdesk:intake", "version": "2",
        "status": "active",
        "item": [{"linkId": "reason", "type": "text", "required": True},
                 {"linkId": "meds", "type": "choice", "repeats": True,
                  "answerOption": [{"valueString": "none"}, {"valueString": "aspirin"}]},
                 {"linkId": "pain", "type": "group", "item": [
                     {"linkId": "pain.level", "type": "integer", "required": True}]}]})
    response = {"resourceType": "QuestionnaireResponse", "questionnaire": "urn:frontdesk:intake|2",
                "subject": {"reference": f"Patient/{patient.id}"}, "status": "completed",
                "item": [{"linkId": "meds", "answer": [{"valueString": "aspirin"},
                                                       {"valueString": "none"}]},
                         {"linkId": "pain", "item": [{"linkId": "pain.level"}]}]}

    refused = fhir.post("/fhir/QuestionnaireResponse", response)
    assert refused.status_code == 400
    assert expressions(refused) == ["QuestionnaireResponse.item",
                                    "QuestionnaireResponse.item[1].item"]
    assert "'reason'" in issues(refused)[0]["diagnostics"]
    assert "'pain.level'" in issues(refused)[1]["diagnostics"]

    created(fhir, "QuestionnaireResponse", {**response, "status": "in-progress"})
    response["item"].insert(0, {"linkId": "reason", "answer": [{"valueString": "Toothache"}]})
    response["item"][2]["item"][0]["answer"] = [{"valueInteger": 7}]
    created(fhir, "QuestionnaireResponse", response)


def test_a_subject_that_is_not_our_patient_is_refused(fhir, practice):
    stranger = factories.make_patient(factories.make_practice(name="Elsewhere Dental"))
    for reference in (f"Patient/{stranger.id}", "Patient/999999", "Patient/abc"):
        response = fhir.post("/fhir/QuestionnaireResponse", {
            "resourceType": "QuestionnaireResponse", "status": "in-progress",
            "subject": {"reference": reference}})
        assert response.status_code == 400, reference
        assert expressions(response) == ["QuestionnaireResponse.subject"]


def response_ids(fhir, **params: Any) -> list[int]:  # noqa: ANN001
    response = fhir.get("/fhir/QuestionnaireResponse", **params)
    assert response.status_code == 200, response.data
    bundle = Bundle.model_validate(response.get_json())
    return [int(entry.resource.id) for entry in bundle.entry or []]


def test_search_responses_by_patient_authored_date_questionnaire_and_status(
        fhir, example, practice):
    ana, ben = factories.make_patient(practice), factories.make_patient(practice)
    questionnaire = created(fhir, "Questionnaire", example("Questionnaire-f201.json"))
    march = int(created(fhir, "QuestionnaireResponse", f201_answers(ana.id))["id"])
    june = int(created(fhir, "QuestionnaireResponse", f201_answers(
        ana.id, authored="2024-06-01T10:00:00Z", status="in-progress"))["id"])
    other = int(created(fhir, "QuestionnaireResponse", f201_answers(
        ben.id, questionnaire=f"Questionnaire/{questionnaire['id']}"))["id"])
    unlinked = int(created(fhir, "QuestionnaireResponse", {
        "resourceType": "QuestionnaireResponse", "status": "completed",
        "questionnaire": "http://example.org/Questionnaire/elsewhere"})["id"])

    assert response_ids(fhir, patient=f"Patient/{ana.id}") == [march, june]
    assert response_ids(fhir, subject=str(ben.id)) == [other]
    assert response_ids(fhir, patient=f"Patient/{ana.id}", authored="2024-03-05") == [march]
    assert response_ids(fhir, authored="ge2024-04-01") == [june]
    assert response_ids(fhir, status="in-progress") == [june]
    assert response_ids(fhir, questionnaire=F201_URL) == [march, june, other]
    assert response_ids(fhir, questionnaire=f"Questionnaire/{questionnaire['id']}") == [
        march, june, other]
    assert response_ids(fhir, questionnaire="http://example.org/Questionnaire/elsewhere") == [
        unlinked]
    assert response_ids(fhir, _id=f"{march},{unlinked}") == [march, unlinked]

    first = fhir.get("/fhir/QuestionnaireResponse", _count="2").get_json()
    assert first["total"] == 4 and len(first["entry"]) == 2
    assert any(link["relation"] == "next" for link in first["link"])
    wrong_type = fhir.get("/fhir/QuestionnaireResponse", patient="Practitioner/1")
    assert wrong_type.status_code == 400 and expressions(wrong_type) == ["patient"]


def test_search_questionnaires_by_url_name_title_status_and_version(fhir, example):
    f201 = int(created(fhir, "Questionnaire", example("Questionnaire-f201.json"))["id"])
    cancer = int(created(fhir, "Questionnaire", example("Questionnaire-3141.json"))["id"])
    intake = int(created(fhir, "Questionnaire", {
        "resourceType": "Questionnaire", "url": "urn:frontdesk:intake", "version": "2",
        "name": "NewPatientIntake", "title": "New patient intake", "status": "active",
        "item": [{"linkId": "reason", "type": "text"}]})["id"])

    def found(**params: Any) -> list[int]:
        # Not fhir.get: its first parameter is called url, like the search parameter.
        response = fhir.client.get("/fhir/Questionnaire", query_string=params,
                                   headers={"Authorization": f"Bearer {fhir.token}"})
        assert response.status_code == 200, response.data
        return [int(entry["resource"]["id"]) for entry in response.get_json().get("entry", [])]

    assert found(url=Q3141_URL) == [cancer]
    assert found(status="active") == [f201, intake]
    assert found(title="cancer quality") == [cancer]
    assert found(name="newpatient") == [intake]
    assert found(**{"name:exact": "newpatient"}) == []
    assert found(version="2", url="urn:frontdesk:intake") == [intake]
    assert found(_lastUpdated="ge2000-01-01") == [f201, cancer, intake]


def test_updates_replace_the_resource_and_if_match_guards_against_lost_updates(
        fhir, example, practice):
    patient = factories.make_patient(practice)
    questionnaire = created(fhir, "Questionnaire", example("Questionnaire-f201.json"))
    questionnaire["status"] = "retired"
    updated_q = fhir.put(f"/fhir/Questionnaire/{questionnaire['id']}", questionnaire,
                         {"If-Match": f'W/"{questionnaire["meta"]["versionId"]}"'})
    assert updated_q.status_code == 200, updated_q.data
    assert fhir.get("/fhir/Questionnaire", status="retired").get_json()["total"] == 1

    answers = created(fhir, "QuestionnaireResponse",
                      f201_answers(patient.id, status="in-progress"))
    etag = f'W/"{answers["meta"]["versionId"]}"'
    answers["status"] = "completed"
    answers["item"][1]["item"][0]["answer"] = [{"valueString": "Male"}]
    updated = fhir.put(f"/fhir/QuestionnaireResponse/{answers['id']}", answers,
                       {"If-Match": etag})
    assert updated.status_code == 200, updated.data
    assert updated.headers["ETag"] != etag
    back = fhir.get(f"/fhir/QuestionnaireResponse/{answers['id']}").get_json()
    assert back["status"] == "completed"
    assert back["item"][1]["item"][0]["answer"] == [{"valueString": "Male"}]

    stale = fhir.put(f"/fhir/QuestionnaireResponse/{answers['id']}", answers,
                     {"If-Match": etag})
    assert stale.status_code == 412
    wrong_type = copy.deepcopy(back)
    wrong_type["item"][0]["answer"] = [{"valueInteger": 1}]
    refused = fhir.put(f"/fhir/QuestionnaireResponse/{answers['id']}", wrong_type)
    assert refused.status_code == 400
    assert expressions(refused) == ["QuestionnaireResponse.item[0].answer[0]"]


def test_reads_writes_and_searches_of_answers_are_audited_with_the_patient(fhir, practice):
    patient = factories.make_patient(practice)
    new = created(fhir, "QuestionnaireResponse", {
        "resourceType": "QuestionnaireResponse", "status": "in-progress",
        "subject": {"reference": f"Patient/{patient.id}"}})
    fhir.get(f"/fhir/QuestionnaireResponse/{new['id']}")
    fhir.get("/fhir/QuestionnaireResponse", patient=str(patient.id))

    events = db.session.execute(select(AuditEvent).where(
        AuditEvent.action.in_(["form.response_create", "form.view", "fhir.search"]))
        .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.patient_id, e.object_id) for e in events] == [
        ("form.response_create", patient.id, new["id"]),
        ("form.view", patient.id, new["id"]),
        ("fhir.search", None, None)]
    assert all(e.actor_role == events[0].actor_role is not None for e in events)
    search_detail = json.loads(events[2].detail)
    assert (search_detail["patient_ids"], search_detail["results"]) == ([patient.id], 1)
    assert search_detail["params"] == ["patient"]


@pytest.mark.parametrize(("resource_type", "body", "expression"), [
    ("Questionnaire", {"resourceType": "Questionnaire", "status": "final"},
     "Questionnaire.status"),
    ("Questionnaire", {"resourceType": "Questionnaire", "status": "draft",
                       "item": [{"linkId": "a", "type": "string"},
                                {"linkId": "b", "type": "group",
                                 "item": [{"linkId": "a", "type": "integer"}]}]},
     "Questionnaire.item[1].item[0].linkId"),
    ("Questionnaire", {"resourceType": "Questionnaire", "status": "draft",
                       "item": [{"linkId": "a", "type": "slider"}]},
     "Questionnaire.item[0].type"),
    ("Questionnaire", {"resourceType": "Questionnaire", "status": "draft",
                       "url": "urn:x:" + "x" * 300}, "Questionnaire.url"),
    ("QuestionnaireResponse", {"resourceType": "QuestionnaireResponse", "status": "done"},
     "QuestionnaireResponse.status"),
    ("QuestionnaireResponse", {"resourceType": "QuestionnaireResponse", "status": "completed",
                               "questionnaire": "Questionnaire/999999"},
     "QuestionnaireResponse.questionnaire"),
    ("QuestionnaireResponse", {"resourceType": "QuestionnaireResponse", "status": "completed",
                               "questionnaire": "urn:x:" + "x" * 300},
     "QuestionnaireResponse.questionnaire"),
    ("QuestionnaireResponse", {"resourceType": "QuestionnaireResponse", "status": "completed",
                               "authored": "2024-02-30"}, "QuestionnaireResponse.authored"),
    ("QuestionnaireResponse", {"resourceType": "QuestionnaireResponse", "status": "completed",
                               "item": [{"answer": [{"valueString": "x"}]}]},
     "QuestionnaireResponse.item[0].linkId"),
])
def test_invalid_resources_get_400_naming_the_element(fhir, resource_type, body, expression):
    response = fhir.post(f"/fhir/{resource_type}", body)
    assert response.status_code == 400, response.data
    assert expression in expressions(response)


@pytest.mark.parametrize("body", [
    [], "text", {"resourceType": "QuestionnaireResponse"},
    {"resourceType": "QuestionnaireResponse", "status": 5, "item": "x"},
    {"resourceType": "QuestionnaireResponse", "status": "completed",
     "item": [{"linkId": "a", "item": [{"linkId": "b", "item": [{"linkId": "c"}]}]}] * 50},
    {"resourceType": "QuestionnaireResponse", "status": "completed",
     "subject": {"reference": "Patient/" + "9" * 40}},
    {"resourceType": "QuestionnaireResponse", "status": "completed", "authored": "2024"},
])
def test_junk_never_causes_a_server_error(fhir, body):
    response = fhir.post("/fhir/QuestionnaireResponse", body)
    assert response.status_code in (201, 400), response.data
    for params in ({"authored": "xx2024"}, {"questionnaire": "|"}, {"subject": "Patient/"},
                   {"_lastUpdated": "2024-13-01"}):
        assert fhir.get("/fhir/QuestionnaireResponse", **params).status_code in (200, 400)
    assert fhir.get("/fhir/QuestionnaireResponse/abc").status_code == 404
    assert fhir.get("/fhir/Questionnaire/0").status_code == 404


@pytest.fixture
def held_forms(fhir, example, practice) -> list[tuple[str, dict[str, Any]]]:  # noqa: ANN001
    """Both official questionnaires held, and resources that fit them: the seeds to mutate."""
    patient = factories.make_patient(practice)
    questionnaires = [created(fhir, "Questionnaire", example(name))
                      for name in ("Questionnaire-f201.json", "Questionnaire-3141.json")]
    linked_3141 = {**example("QuestionnaireResponse-3141.json"), "questionnaire": Q3141_URL}
    del linked_3141["item"][0]["item"][0]["answer"][0]["item"][0]["item"][2]
    return ([("Questionnaire", q) for q in questionnaires]
            + [("QuestionnaireResponse", created(fhir, "QuestionnaireResponse", r))
               for r in (f201_answers(patient.id), linked_3141)])


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_forms_and_answers_never_cause_a_server_error(fhir, held_forms, data):
    resource_type, original = data.draw(st.sampled_from(held_forms), label="seed")
    body = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        body = mutate(body, data)
    if data.draw(st.booleans(), label="update"):
        response = fhir.put(f"/fhir/{resource_type}/{original['id']}", body)
    else:
        response = fhir.post(f"/fhir/{resource_type}", body)
    assert_no_server_error(response)


def test_a_subject_given_as_a_full_url_links_the_patient(fhir, practice):
    patient = factories.make_patient(practice)
    new = created(fhir, "QuestionnaireResponse", {
        "resourceType": "QuestionnaireResponse", "status": "in-progress",
        "subject": {"reference": f"http://localhost/fhir/Patient/{patient.id}"}})

    assert response_ids(fhir, patient=f"Patient/{patient.id}") == [int(new["id"])]


@pytest.mark.parametrize("authored", ["0001-01-01T00:00:00+01:00", "0001-01-01",
                                      "9999-12-31T20:00:00-05:00"])
def test_an_authored_time_outside_the_years_we_keep_is_refused(fhir, authored):
    response = fhir.post("/fhir/QuestionnaireResponse", {
        "resourceType": "QuestionnaireResponse", "status": "in-progress",
        "authored": authored})
    assert response.status_code == 400
    assert expressions(response) == ["QuestionnaireResponse.authored"]
