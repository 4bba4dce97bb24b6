"""Finding 12: absolute URLs come from PUBLIC_BASE_URL, never from the request's Host header.

Before, a forged ``Host: evil.example`` came back in Bundle links, fullUrls, Location headers,
the CapabilityStatement and the public, cacheable ``$bulk-publish`` manifest, so one forged
request could plant the attacker's host in a cache every aggregator reads.
"""

from __future__ import annotations

import json
from datetime import time

import pytest

from app.extensions import db
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from tests import factories

PUBLIC = "https://frontdesk.example"
FORGED = "http://evil.example"

pytestmark = pytest.mark.app_settings(PUBLIC_BASE_URL=PUBLIC)


def urls_in(value: object) -> list[str]:
    """Every string in a JSON document that looks like an absolute URL of ours."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += urls_in(item)
    elif isinstance(value, list):
        for item in value:
            found += urls_in(item)
    elif isinstance(value, str) and value.startswith(("http://", "https://")):
        found.append(value)
    return [url for url in found if "fhir-registry" not in url and "hl7.org" not in url
            and "terminology" not in url and "us/npi" not in url]


@pytest.fixture
def published(practice):
    location = factories.make_location(practice, name="Lakeside Chicago")
    kind = factories.make_appointment_type(practice, name="Cleaning", duration_minutes=60)
    db.session.commit()
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    calendars.set_weekly_hours(
        practice_id=practice.id, provider_id=provider.id, location_id=location.id,
        intervals=[WeeklyInterval(day, time(0), time(23, 45)) for day in range(7)])
    return location


def test_the_public_manifest_and_its_files_ignore_a_forged_host(client, published):
    response = client.get("/fhir/$bulk-publish?_since=2026-01-01T00:00:00Z", base_url=FORGED)
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public")
    manifest = response.get_json()
    assert manifest["request"] == f"{PUBLIC}/fhir/$bulk-publish?_since=2026-01-01T00:00:00Z"
    assert {item["type"] for item in manifest["output"]} == {"Location", "Schedule", "Slot"}
    for item in manifest["output"]:
        assert item["url"].startswith(f"{PUBLIC}/fhir/$bulk-publish/")
        path = item["url"].removeprefix(PUBLIC)
        body = client.get(path, base_url=FORGED).get_data(as_text=True)
        assert body and "evil" not in body
        for line in body.splitlines():
            assert all(url.startswith(PUBLIC) for url in urls_in(json.loads(line)))
    assert "evil" not in response.get_data(as_text=True)


def test_search_bundles_and_created_locations_ignore_a_forged_host(client, make_fhir,
                                                                   practice):
    fhir = make_fhir("system/*.*")
    for n in range(3):
        factories.make_patient(practice, family_name=f"Garcia{n}")
    response = client.get("/fhir/Patient", query_string={"_count": 1}, base_url=FORGED,
                          headers={"Authorization": f"Bearer {fhir.token}"})
    assert response.status_code == 200
    bundle = response.get_json()
    relations = {link["relation"]: link["url"] for link in bundle["link"]}
    assert relations["self"].startswith(f"{PUBLIC}/fhir/Patient?")
    assert relations["next"].startswith(f"{PUBLIC}/fhir/Patient?")
    assert all(entry["fullUrl"].startswith(f"{PUBLIC}/fhir/Patient/")
               for entry in bundle["entry"])
    assert "evil" not in response.get_data(as_text=True)

    created = client.post("/fhir/Patient", base_url=FORGED, data=json.dumps({
        "resourceType": "Patient", "name": [{"family": "Lopez", "given": ["Ana"]}],
        "birthDate": "1980-02-03", "telecom": [{"system": "phone", "value": "+13125550177"}],
    }), headers={"Authorization": f"Bearer {fhir.token}",
                 "Content-Type": "application/fhir+json"})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Location"].startswith(f"{PUBLIC}/fhir/Patient/")


def test_the_capability_statement_names_the_public_base(client):
    statement = client.get("/fhir/metadata", base_url=FORGED).get_json()
    assert statement["implementation"]["url"] == f"{PUBLIC}/fhir"
