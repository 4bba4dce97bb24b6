"""FHIR Schedule: the official examples, the calendars Frontdesk keeps, actors, updates."""

from __future__ import annotations

import copy
from datetime import time
from typing import Any

import pytest
from fhir.resources.R4B.schedule import Schedule as FhirSchedule

from app.extensions import db
from app.fhir.mapping.codes import APPOINTMENT_TYPE_SYSTEM
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Schedule
from tests import factories
from tests.fhir.outcome import expressions, issues


def with_actors(example: dict[str, Any], *references: str) -> dict[str, Any]:
    """The example with its actors pointing at our records (same order, same displays)."""
    adapted = copy.deepcopy(example)
    for actor, reference in zip(adapted["actor"], references, strict=True):
        actor["reference"] = reference
    return adapted


def meaning(resource: FhirSchedule | dict[str, Any]) -> dict[str, Any]:
    """What the examples say that we keep, without our own serviceType entries."""
    data = (resource.model_dump(mode="json", exclude_none=True)
            if isinstance(resource, FhirSchedule) else resource)
    return {
        "identifier": data.get("identifier"),
        "active": data.get("active"),
        "serviceCategory": data.get("serviceCategory"),
        "serviceType": [c for c in data.get("serviceType", [])
                        if all(x.get("system") != APPOINTMENT_TYPE_SYSTEM for x in c["coding"])],
        "specialty": data.get("specialty"),
        "actor": [a["reference"] for a in data["actor"]],
        "planningHorizon": data.get("planningHorizon"),
        "comment": data.get("comment"),
    }


def test_the_official_provider_schedule_example_reads_back_equal_in_meaning(fhir, example,
                                                                             practice):
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    kind = factories.make_appointment_type(practice, name="Genetic counselling")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    posted = with_actors(example("Schedule-exampleloc1.json"), f"Practitioner/{provider.id}",
                         f"Location/{location.id}")

    created = fhir.post("/fhir/Schedule", posted)
    assert created.status_code == 201, created.data
    back = fhir.get(f"/fhir/Schedule/{created.get_json()['id']}")
    assert back.status_code == 200
    resource = FhirSchedule.model_validate(back.get_json())
    assert meaning(resource) == meaning(posted)
    assert resource.serviceType[0].coding[0].model_dump(exclude_none=True) == {
        "system": APPOINTMENT_TYPE_SYSTEM, "code": str(kind.id),
        "display": "Genetic counselling"}
    assert back.headers["ETag"] == f'W/"{resource.meta.versionId}"'


def test_the_official_location_schedule_example_reads_back_equal_in_meaning(fhir, example,
                                                                             practice):
    location = factories.make_location(practice)
    posted = with_actors(example("Schedule-example.json"), f"Location/{location.id}")

    created = fhir.post("/fhir/Schedule", posted)
    assert created.status_code == 201, created.data
    resource = FhirSchedule.model_validate(
        fhir.get(f"/fhir/Schedule/{created.get_json()['id']}").get_json())
    assert meaning(resource) == meaning(posted)
    schedule = db.session.get(Schedule, int(resource.id))
    assert (schedule.location_id, schedule.provider_id) == (location.id, None)


def test_a_provider_gets_a_schedule_with_their_hours_listing_the_types_they_offer(fhir,
                                                                                  practice):
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    cleaning = factories.make_appointment_type(practice, name="Cleaning")
    exam = factories.make_appointment_type(practice, name="Exam")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[cleaning.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(0, time(9), time(12))])

    def found(**params: str) -> list[dict[str, Any]]:
        response = fhir.get("/fhir/Schedule", **params)
        assert response.status_code == 200, response.data
        return [entry["resource"] for entry in response.get_json().get("entry", [])]

    mine = found(actor=f"Practitioner/{provider.id}")
    assert len(mine) == 1
    assert [a["reference"] for a in mine[0]["actor"]] == [f"Practitioner/{provider.id}",
                                                          f"Location/{location.id}"]
    assert [c["coding"][0]["code"] for c in mine[0]["serviceType"]] == [str(cleaning.id)]
    assert found(actor=f"Location/{location.id}") == mine
    assert found(actor=str(provider.id)) == mine  # a bare id may name either
    assert found(actor="Practitioner/999999") == []
    assert found(**{"service-type": f"{APPOINTMENT_TYPE_SYSTEM}|{cleaning.id}"}) == mine
    assert found(**{"service-type": str(exam.id)}) == []
    assert found(**{"service-type": f"http://other|{cleaning.id}"}) == []
    assert found(active="false") == []


def test_a_second_schedule_for_the_same_calendar_is_a_conflict(fhir, practice):
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    for actors in ([f"Practitioner/{provider.id}", f"Location/{location.id}"],
                   [f"Location/{location.id}"]):
        body = {"resourceType": "Schedule", "actor": [{"reference": r} for r in actors]}
        assert fhir.post("/fhir/Schedule", body).status_code == 201
        again = fhir.post("/fhir/Schedule", body)
        assert again.status_code == 409
        assert issues(again)[0]["code"] == "duplicate"
        assert expressions(again) == ["Schedule.actor"]


def test_actors_must_be_one_location_and_at_most_one_practitioner_of_ours(fhir, practice):
    location = factories.make_location(practice)
    elsewhere = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    other = factories.make_provider(practice, locations=[location])
    foreign = factories.make_location(factories.make_practice(name="Other practice"))

    def refused(*references: str) -> list[str]:
        response = fhir.post("/fhir/Schedule", {
            "resourceType": "Schedule", "actor": [{"reference": r} for r in references]})
        assert response.status_code == 400, response.data
        return [issue["diagnostics"] for issue in issues(response)]

    assert any("exactly one Location" in text
               for text in refused(f"Practitioner/{provider.id}"))
    assert any("at most one Practitioner" in text for text in refused(
        f"Practitioner/{provider.id}", f"Practitioner/{other.id}", f"Location/{location.id}"))
    assert any("Location or a Practitioner" in text for text in refused(
        "Patient/1", f"Location/{location.id}"))
    assert refused(f"Location/{foreign.id}") == [
        f"Schedule.actor[0].reference: Location/{foreign.id} is not known"]
    assert refused(f"Location/{location.id}", "Practitioner/999999") == [
        "Schedule.actor[1].reference: Practitioner/999999 is not known"]
    assert "does not work at" in refused(f"Practitioner/{provider.id}",
                                         f"Location/{elsewhere.id}")[0]


def test_updating_a_schedule_keeps_its_actors_and_checks_the_version(fhir, practice):
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    kind = factories.make_appointment_type(practice)
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    schedule = calendars.ensure_schedule(practice_id=practice.id, provider_id=provider.id,
                                         location_id=location.id)
    db.session.commit()
    current = fhir.get(f"/fhir/Schedule/{schedule.id}")
    body, etag = current.get_json(), current.headers["ETag"]
    body.update(active=False, comment="Closed for renovation",
                planningHorizon={"start": "2027-01-01T00:00:00Z",
                                 "end": "2027-06-30T00:00:00+02:00"})
    # Our own type codings are ignored on input: the types offered are set in Frontdesk.
    body["serviceType"] = [{"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": "999"}]},
                           {"coding": [{"system": "http://example.org/st", "code": "57"}]}]

    updated = fhir.put(f"/fhir/Schedule/{schedule.id}", body, {"If-Match": etag})
    assert updated.status_code == 200, updated.data
    served = updated.get_json()
    assert (served["active"], served["comment"]) == (False, "Closed for renovation")
    assert served["planningHorizon"] == {"start": "2027-01-01T00:00:00Z",
                                         "end": "2027-06-29T22:00:00Z"}
    assert served["serviceType"] == [
        {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": str(kind.id),
                     "display": kind.name}], "text": kind.name},
        {"coding": [{"system": "http://example.org/st", "code": "57"}]}]
    assert fhir.put(f"/fhir/Schedule/{schedule.id}", body,
                    {"If-Match": etag}).status_code == 412

    moved = dict(served, actor=[{"reference": f"Location/{location.id}"}])
    refused = fhir.put(f"/fhir/Schedule/{schedule.id}", moved)
    assert refused.status_code == 400
    assert expressions(refused) == ["Schedule.actor"]


def test_a_horizon_without_a_time_zone_or_backwards_is_refused(fhir, practice):
    location = factories.make_location(practice)

    def post(horizon: dict[str, str]) -> Any:
        return fhir.post("/fhir/Schedule", {
            "resourceType": "Schedule", "actor": [{"reference": f"Location/{location.id}"}],
            "planningHorizon": horizon})

    assert expressions(post({"start": "2027-01-05"})) == ["Schedule.planningHorizon.start"]
    assert expressions(post({"start": "2027-01-05T00:00:00Z", "end": "2027-01-04T00:00:00Z"})
                       ) == ["Schedule.planningHorizon.end"]


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                                   "9999-12-31T20:00:00-05:00"])
def test_a_horizon_outside_the_years_we_keep_is_refused_and_stores_nothing(fhir, practice,
                                                                             start):
    location = factories.make_location(practice)

    response = fhir.post("/fhir/Schedule", {
        "resourceType": "Schedule", "actor": [{"reference": f"Location/{location.id}"}],
        "planningHorizon": {"start": start}})

    assert response.status_code == 400
    assert expressions(response) == ["Schedule.planningHorizon.start"]
    assert db.session.query(Schedule).filter_by(location_id=location.id).count() == 0
    assert fhir.get("/fhir/Schedule").status_code == 200
