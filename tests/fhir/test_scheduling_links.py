"""SMART Scheduling Links: the $bulk-publish manifest and its Location, Schedule and Slot files,
as a slot aggregator reads them (no token)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from app.core.clock import utcnow
from app.extensions import db
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import AppointmentType, Schedule
from tests import factories

# What each file holds; the caching of slot files is tests/fhir/test_slot_file_cache.py's.
pytestmark = pytest.mark.app_settings(SCHEDULING_LINKS_CACHE_SECONDS=0)

MANIFEST = "/fhir/$bulk-publish"
MODELS = {"Location": FhirLocation, "Schedule": FhirSchedule, "Slot": FhirSlot}
DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
CAPACITY = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"


@dataclass
class Practiceware:
    chicago: Location
    denver: Location
    cleaning: AppointmentType
    exam: AppointmentType
    staff_only: AppointmentType
    retired: AppointmentType
    rivera: Provider
    chen: Provider


def _works_every_day(practice: Practice, provider: Provider, location: Location,
                     kinds: list[AppointmentType]) -> None:
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id for kind in kinds])
    calendars.set_weekly_hours(
        practice_id=practice.id, provider_id=provider.id, location_id=location.id,
        intervals=[WeeklyInterval(day, time(0), time(23, 45)) for day in range(7)])


@pytest.fixture
def office(practice: Practice) -> Practiceware:
    """Chicago: two providers offer Cleaning (and a staff-only and a retired type); Denver:
    one provider offers Exam. Everyone works all day, every day."""
    chicago = factories.make_location(practice, name="Lakeside Chicago", state="IL")
    denver = factories.make_location(practice, name="Lakeside Denver", state="CO",
                                     timezone="America/Denver")
    cleaning = factories.make_appointment_type(practice, name="Cleaning", duration_minutes=60)
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    staff_only = factories.make_appointment_type(practice, name="Crown prep")
    staff_only.bookable_online = False
    retired = factories.make_appointment_type(practice, name="Whitening")
    retired.active = False
    db.session.commit()
    rivera = factories.make_provider(practice, locations=[chicago], family_name="Rivera")
    chen = factories.make_provider(practice, locations=[chicago], family_name="Chen")
    for provider in (rivera, chen):
        _works_every_day(practice, provider, chicago, [cleaning, staff_only, retired])
    okafor = factories.make_provider(practice, locations=[denver], family_name="Okafor")
    _works_every_day(practice, okafor, denver, [exam])
    return Practiceware(chicago, denver, cleaning, exam, staff_only, retired, rivera, chen)


@pytest.fixture
def examples(shared_testdata: Path) -> Path:
    folder = shared_testdata / "fhir" / "smart-scheduling-links"
    if not folder.is_dir():
        pytest.skip("skipped: shared SMART Scheduling Links examples not present "
                    "(../shared/testdata/fhir/smart-scheduling-links)")
    return folder


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _manifest(client: Any, query: str = "") -> dict[str, Any]:
    response = client.get(MANIFEST + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _lines(client: Any, url: str) -> list[dict[str, Any]]:
    response = client.get(_path(url))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+ndjson"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def _published(client: Any) -> dict[str, list[dict[str, Any]]]:
    """Every resource the manifest leads to, by type."""
    found: dict[str, list[dict[str, Any]]] = {"Location": [], "Schedule": [], "Slot": []}
    for output in _manifest(client)["output"]:
        found[output["type"]] += _lines(client, output["url"])
    return found


def _example_lines(examples: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (examples / name).read_text().splitlines() if line]


def _slots_at(client: Any, location: Location, kind: AppointmentType) -> dict[str, int]:
    """Published start → capacity for one type at one location."""
    slots = _lines(client, f"/fhir/$bulk-publish/slots-{location.id}.ndjson")
    return {slot["start"]: _extension(slot, CAPACITY)["valueInteger"] for slot in slots
            if slot["schedule"]["reference"] == f"Schedule/loc{location.id}-type{kind.id}"}


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any]:
    return next(item for item in resource["extension"] if item["url"] == url)


# --- shape, compared with the specification's examples ---------------------------------------

def test_the_manifest_has_the_shape_of_the_example(client, office, examples):
    example = json.loads((examples / "bulk-publish-manifest.json").read_text())
    manifest = _manifest(client)

    assert manifest.keys() == example.keys()
    assert manifest["request"] == "http://localhost/fhir/$bulk-publish"
    assert datetime.fromisoformat(manifest["transactionTime"]) - utcnow() < timedelta(minutes=1)
    assert manifest["error"] == []
    assert {o["type"] for o in manifest["output"]} == {o["type"] for o in example["output"]}
    example_keys = {o["type"]: o.keys() for o in example["output"]}
    for output in manifest["output"]:
        assert output.keys() == example_keys[output["type"]]
    slot_states = {o["url"]: o["extension"]["state"] for o in manifest["output"]
                   if o["type"] == "Slot"}
    assert slot_states == {
        f"http://localhost/fhir/$bulk-publish/slots-{office.chicago.id}.ndjson": ["IL"],
        f"http://localhost/fhir/$bulk-publish/slots-{office.denver.id}.ndjson": ["CO"]}


@pytest.mark.parametrize(("resource_type", "example_file"), [
    ("Location", "locations.ndjson"), ("Schedule", "schedules.ndjson"),
    ("Slot", "slots-2021-W09.ndjson")])
def test_each_file_has_the_shape_of_the_example_and_every_line_validates(
        client, office, examples, resource_type, example_file):
    example = _example_lines(examples, example_file)[0]
    lines = _published(client)[resource_type]

    assert lines
    for line in lines:
        MODELS[resource_type].model_validate(line)
        # Our lines carry the example's elements; the example's vaccine-only Schedule
        # extensions and the Location's optional county have no counterpart here.
        assert set(line) == set(example) - ({"extension"} if resource_type == "Schedule"
                                            else set())
    if resource_type == "Location":
        assert {t["system"] for t in lines[0]["telecom"]} == {
            t["system"] for t in example["telecom"]}
        assert set(lines[0]["address"]) == set(example["address"]) - {"district"}
        assert set(lines[0]["identifier"][0]) == set(example["identifier"][0])
    if resource_type == "Slot":
        assert [(e["url"], set(e) - {"url"}) for e in lines[0]["extension"]] == [
            (e["url"], set(e) - {"url"}) for e in example["extension"]]
        assert {line["status"] for line in lines} == {"free"}


def test_schedules_name_their_location_and_slots_their_schedule(client, office):
    published = _published(client)
    locations = {f"Location/{loc['id']}": loc for loc in published["Location"]}
    schedules = {f"Schedule/{s['id']}": s for s in published["Schedule"]}

    assert set(locations) == {f"Location/{office.chicago.id}", f"Location/{office.denver.id}"}
    assert all(len(s["actor"]) == 1 and s["actor"][0]["reference"] in locations
               for s in schedules.values())
    assert all(slot["schedule"]["reference"] in schedules for slot in published["Slot"])
    chicago = locations[f"Location/{office.chicago.id}"]
    assert chicago["name"] == "Lakeside Chicago"
    assert chicago["address"]["state"] == "IL"
    assert {"system": "phone", "value": office.chicago.phone} in chicago["telecom"]
    cleaning = schedules[f"Schedule/loc{office.chicago.id}-type{office.cleaning.id}"]
    assert cleaning["serviceType"][0]["coding"][0] == {
        "system": "urn:frontdesk:appointment-type", "code": str(office.cleaning.id),
        "display": "Cleaning"}


# --- what is published --------------------------------------------------------------------------

def test_staff_only_and_inactive_types_are_not_published(client, office):
    published = _published(client)

    assert sorted(s["id"] for s in published["Schedule"]) == sorted([
        f"loc{office.chicago.id}-type{office.cleaning.id}",
        f"loc{office.denver.id}-type{office.exam.id}"])
    named = {s["schedule"]["reference"].rsplit("type", 1)[1] for s in published["Slot"]}
    assert named == {str(office.cleaning.id), str(office.exam.id)}


def test_a_location_with_nothing_bookable_online_is_not_published(client, practice, office):
    annex = factories.make_location(practice, name="Annex")
    _works_every_day(practice, factories.make_provider(practice, locations=[annex]), annex,
                     [office.staff_only])

    published = _published(client)
    assert str(annex.id) not in {loc["id"] for loc in published["Location"]}
    assert _lines(client, f"/fhir/$bulk-publish/slots-{annex.id}.ndjson") == []


def test_capacity_counts_the_providers_free_and_a_booking_takes_its_time_away(client, office,
                                                                                practice):
    before = _slots_at(client, office.chicago, office.cleaning)
    start = next(iter(before))
    assert before[start] == 2
    at = datetime.fromisoformat(start).astimezone(UTC)
    patient = factories.make_patient(practice)

    factories.make_appointment(patient, office.rivera, office.chicago, start_at=at,
                               appointment_type=office.cleaning)
    assert _slots_at(client, office.chicago, office.cleaning)[start] == 1

    factories.make_appointment(patient, office.chen, office.chicago, start_at=at,
                               appointment_type=office.cleaning)
    assert start not in _slots_at(client, office.chicago, office.cleaning)


def test_a_calendar_withdrawn_from_publication_no_longer_counts(client, office):
    calendar = db.session.query(Schedule).filter_by(provider_id=office.chen.id,
                                                     location_id=office.chicago.id).one()
    calendar.active = False
    db.session.commit()

    assert set(_slots_at(client, office.chicago, office.cleaning).values()) == {1}


def test_slots_cover_the_configured_days_only(make_app, practice, office):
    client = make_app(SCHEDULING_LINKS_DAYS=2).test_client()

    starts = [datetime.fromisoformat(s) for s in _slots_at(client, office.denver, office.exam)]
    assert starts
    assert max(starts) < utcnow() + timedelta(days=2)
    assert max(starts) > utcnow() + timedelta(days=1)


def test_the_deep_link_opens_the_booking_page_of_that_day_showing_the_time(client, office):
    slot = _lines(client, f"/fhir/$bulk-publish/slots-{office.denver.id}.ndjson")[0]
    link = _extension(slot, DEEP_LINK)["valueUrl"]
    start = datetime.fromisoformat(slot["start"])

    assert start.utcoffset() in (timedelta(hours=-7), timedelta(hours=-6))  # Denver time
    assert _extension(slot, PHONE)["valueString"] == office.denver.phone
    assert link.startswith("http://localhost/book/time?")
    page = client.get(_path(link))
    assert page.status_code == 200
    assert f'value="{start.astimezone(UTC).isoformat()}"' in page.get_data(as_text=True)


# --- _since, caching, access ----------------------------------------------------------------

def test_since_is_accepted_and_the_full_current_set_is_served(client, office):
    since = (utcnow() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    plain = _manifest(client)

    narrowed = _manifest(client, f"?_since={since}")
    assert narrowed["request"] == f"http://localhost/fhir/$bulk-publish?_since={since}"
    assert narrowed["output"] == plain["output"]
    slot_file = f"/fhir/$bulk-publish/slots-{office.chicago.id}.ndjson"
    assert _lines(client, f"{slot_file}?_since={since}") == _lines(client, slot_file)


@pytest.mark.parametrize("since", ["yesterday", "2026-01-01T00:00:00"])
def test_a_bad_since_is_refused_naming_it(client, office, since):
    for url in (MANIFEST, "/fhir/$bulk-publish/locations.ndjson"):
        response = client.get(url, query_string={"_since": since})
        assert response.status_code == 400
        assert response.get_json()["issue"][0]["expression"] == ["_since"]


def test_answers_may_be_cached_for_a_minute_and_revalidated(client, office):
    response = client.get(MANIFEST)
    assert response.headers["Cache-Control"] == "public, max-age=60"
    locations = client.get("/fhir/$bulk-publish/locations.ndjson")
    assert locations.headers["Cache-Control"] == "public, max-age=60"

    again = client.get("/fhir/$bulk-publish/locations.ndjson",
                       headers={"If-None-Match": locations.headers["ETag"]})
    assert again.status_code == 304


def test_no_token_is_needed_but_only_get_is_allowed(client, office):
    urls = [MANIFEST, "/fhir/$bulk-publish/locations.ndjson",
            "/fhir/$bulk-publish/schedules.ndjson",
            f"/fhir/$bulk-publish/slots-{office.chicago.id}.ndjson"]
    for url in urls:
        assert client.get(url).status_code == 200
        for method in ("post", "put", "delete"):
            response = getattr(client, method)(url, json={})
            assert response.status_code == 405, (method, url)
            assert response.headers["Allow"] == "GET"
            assert response.get_json()["resourceType"] == "OperationOutcome"


def test_an_unknown_location_or_another_practices_has_no_slot_file(client, office):
    elsewhere = factories.make_location(factories.make_practice(name="Other Dental"))
    for location_id in (9999, elsewhere.id):
        response = client.get(f"/fhir/$bulk-publish/slots-{location_id}.ndjson")
        assert response.status_code == 404
        assert response.get_json()["resourceType"] == "OperationOutcome"


def test_nothing_about_patients_is_published(client, office, practice):
    patient = factories.make_patient(practice, given_name="Zebulon", family_name="Quixotic",
                                     email="zebulon@example.com", mobile_phone="+13125559876")
    start = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    factories.make_appointment(patient, office.rivera, office.chicago, start_at=start,
                               appointment_type=office.cleaning)

    everything = json.dumps(_manifest(client)) + json.dumps(_published(client))
    for detail in ("Zebulon", "Quixotic", "zebulon@example.com", "+13125559876"):
        assert detail not in everything


def test_a_calendars_planning_horizon_bounds_its_published_times(client, office):
    everyone = _slots_at(client, office.chicago, office.cleaning)
    first = datetime.fromisoformat(min(everyone)).astimezone(UTC)
    calendar = db.session.query(Schedule).filter_by(provider_id=office.chen.id,
                                                     location_id=office.chicago.id).one()
    calendar.horizon_start = first + timedelta(days=1)
    db.session.commit()

    published = _slots_at(client, office.chicago, office.cleaning)

    assert {capacity for start, capacity in published.items()
            if datetime.fromisoformat(start) < first + timedelta(days=1)} == {1}
    assert published[max(published)] == 2


def test_a_signed_in_staff_member_gets_the_same_public_answer(app, client, office):
    anonymous = _manifest(app.test_client())
    outsider = factories.make_staff(factories.make_practice(name="Other Dental"), role="admin")
    signed_in = client.post("/sign-in", data={"email": outsider.email,
                                              "password": factories.STAFF_PASSWORD})
    assert signed_in.status_code in (302, 303)

    assert _manifest(client)["output"] == anonymous["output"]
