"""FHIR Practitioner and Location: official examples, search, update."""

from __future__ import annotations

import copy

from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.practitioner import Practitioner

from app.extensions import db
from app.fhir.mapping.location import TIMEZONE_EXTENSION
from app.fhir.mapping.practitioner import NPI_SYSTEM
from app.practice.models import Location, Provider
from tests import factories
from tests.fhir.outcome import expressions, issues

VALID_NPI = "1234567893"  # the CMS documentation's example, check digit included


def test_the_official_practitioner_example_reads_back_equal_in_meaning(fhir, example):
    posted = example("Practitioner-example.json")
    created = fhir.post("/fhir/Practitioner", posted)
    assert created.status_code == 201, created.data
    back = Practitioner.model_validate(
        fhir.get(f"/fhir/Practitioner/{created.get_json()['id']}").get_json())
    name = back.name[0]
    assert (name.family, name.given, name.prefix) == ("Careful", ["Adam"], ["Dr"])
    assert back.active is True
    assert back.identifier is None  # the example's identifier is not an NPI: not kept


def test_a_practitioner_with_an_npi_is_found_by_it_and_by_name(fhir, practice):
    created = fhir.post("/fhir/Practitioner", {
        "resourceType": "Practitioner",
        "identifier": [{"system": NPI_SYSTEM, "value": VALID_NPI}],
        "name": [{"family": "Rivera", "given": ["Ana"], "prefix": ["Dr."], "suffix": ["DDS"]}]})
    assert created.status_code == 201, created.data
    provider = db.session.get(Provider, int(created.get_json()["id"]))
    assert (provider.npi, provider.prefix, provider.credentials) == (VALID_NPI, "Dr.", "DDS")
    factories.make_provider(practice, family_name="Smith")

    def found(**params: str) -> list[str]:
        bundle = fhir.get("/fhir/Practitioner", **params).get_json()
        return [entry["resource"]["id"] for entry in bundle.get("entry", [])]

    assert found(identifier=VALID_NPI) == [str(provider.id)]
    assert found(identifier=f"{NPI_SYSTEM}|{VALID_NPI}") == [str(provider.id)]
    assert found(name="riv") == [str(provider.id)]
    assert found(**{"name:exact": "Riv"}) == []
    assert found(_id=str(provider.id)) == [str(provider.id)]


def test_a_bad_or_taken_npi_is_refused(fhir, practice):
    def post(npi: str):  # noqa: ANN202
        return fhir.post("/fhir/Practitioner", {
            "resourceType": "Practitioner", "name": [{"family": "Kim", "given": ["Jo"]}],
            "identifier": [{"system": NPI_SYSTEM, "value": npi}]})

    bad = post("1234567890")
    assert bad.status_code == 400
    assert expressions(bad) == ["Practitioner.identifier[0].value"]
    assert post(VALID_NPI).status_code == 201
    taken = post(VALID_NPI)
    assert taken.status_code == 409 and issues(taken)[0]["code"] == "duplicate"


def as_a_practice_can_hold(example: dict) -> dict:
    """Location-1 gives "2328", an internal extension, as its phone: no one can call it from
    outside, so a practice needs a full number."""
    adapted = copy.deepcopy(example)
    adapted["telecom"][0]["value"] = "+31 20 555 0100"
    return adapted


def test_the_official_location_example_reads_back_equal_in_meaning(fhir, example, practice):
    as_is = fhir.post("/fhir/Location", example("Location-1.json"))
    assert as_is.status_code == 400
    assert expressions(as_is) == ["Location.telecom[0].value"]

    created = fhir.post("/fhir/Location", as_a_practice_can_hold(example("Location-1.json")))
    assert created.status_code == 201, created.data
    back = FhirLocation.model_validate(
        fhir.get(f"/fhir/Location/{created.get_json()['id']}").get_json())
    assert back.name == "South Wing, second floor"
    assert (back.address.line, back.address.city, back.address.postalCode) == (
        ["Galapagosweg 91, Building A"], "Den Burg", "9105 PZ")
    assert [(t.system, t.value) for t in back.telecom] == [("phone", "+31205550100")]
    assert [(e.url, e.valueCode) for e in back.extension] == [
        (TIMEZONE_EXTENSION, practice.timezone)]


def test_a_location_keeps_its_time_zone_and_is_found_by_city_and_state(fhir, practice):
    created = fhir.post("/fhir/Location", {
        "resourceType": "Location", "name": "Denver office",
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": "America/Denver"}],
        "telecom": [{"system": "phone", "value": "(303) 555-0100"}],
        "address": {"line": ["1 Main St"], "city": "Denver", "state": "co",
                    "postalCode": "80202"}})
    assert created.status_code == 201, created.data
    location = db.session.get(Location, int(created.get_json()["id"]))
    assert (location.timezone, location.state, location.phone) == (
        "America/Denver", "CO", "+13035550100")
    factories.make_location(practice, state="IL")
    for params in ({"address-city": "den"}, {"address-state": "CO"}, {"name": "denver"}):
        bundle = fhir.get("/fhir/Location", **params).get_json()
        assert [e["resource"]["id"] for e in bundle["entry"]] == [str(location.id)], params


def test_a_location_with_an_unknown_time_zone_or_no_address_is_refused(fhir):
    response = fhir.post("/fhir/Location", {
        "resourceType": "Location", "name": "Somewhere",
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": "Mars/Olympus"}],
        "telecom": [{"system": "phone", "value": "(303) 555-0100"}]})
    assert response.status_code == 400
    assert set(expressions(response)) == {
        "Location.extension[0].valueCode", "Location.address.line", "Location.address.city",
        "Location.address.postalCode"}


def test_a_location_with_a_bad_state_or_zip_code_is_refused_in_english(fhir):
    response = fhir.post("/fhir/Location", {
        "resourceType": "Location", "name": "Somewhere",
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": "America/Denver"}],
        "telecom": [{"system": "phone", "value": "(303) 555-0100"}],
        "address": {"line": ["1 Main St"], "city": "Denver", "state": "ZZ",
                    "postalCode": "ABCDE"}}, {"Accept-Language": "es"})
    assert response.status_code == 400
    assert set(expressions(response)) == {"Location.address.state",
                                          "Location.address.postalCode"}
    reasons = " ".join(issue["diagnostics"] for issue in issues(response))
    assert "'ZZ' is not a US state or territory" in reasons
    assert "'ABCDE' is not a ZIP code" in reasons
    assert db.session.query(Location).count() == 0


def test_a_state_name_is_stored_as_its_code(fhir):
    response = fhir.post("/fhir/Location", {
        "resourceType": "Location", "name": "Somewhere",
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": "America/Denver"}],
        "telecom": [{"system": "phone", "value": "(303) 555-0100"}],
        "address": {"line": ["1 Main St"], "city": "Denver", "state": "Colorado",
                    "postalCode": "80202-1234"}})
    assert response.status_code == 201
    assert response.get_json()["address"]["state"] == "CO"


def test_updating_a_location_and_a_stale_version(fhir, practice):
    location = factories.make_location(practice)
    current = fhir.get(f"/fhir/Location/{location.id}")
    body, etag = current.get_json(), current.headers["ETag"]
    body["name"] = "Renamed office"
    updated = fhir.put(f"/fhir/Location/{location.id}", body, {"If-Match": etag})
    assert updated.status_code == 200, updated.data
    db.session.refresh(location)
    assert location.name == "Renamed office"
    assert location.timezone == "America/Chicago"
    body["name"] = "Again"
    assert fhir.put(f"/fhir/Location/{location.id}", body,
                    {"If-Match": etag}).status_code == 412
