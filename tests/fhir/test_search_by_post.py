"""POST ``[type]/_search`` (FHIR R4 search): form-encoded parameters find what the same GET
finds, and neither the request's URL nor the Bundle's links carry them (security review
finding 5); a link of a posted search still pages through the same matches."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from tests import factories
from tests.fhir.outcome import expressions

FORM = "application/x-www-form-urlencoded"


def post_search(fhir, resource_type: str, params: dict[str, str]):  # noqa: ANN001, ANN201
    return fhir.client.post(f"/fhir/{resource_type}/_search", data=params,
                            headers={**fhir._headers(None), "Content-Type": FORM})


def test_a_posted_patient_search_finds_them_and_no_link_names_them(fhir, practice):
    for n in range(3):
        factories.make_patient(practice, given_name="Octavia", family_name="Zyskowski",
                               date_of_birth=date(1961, 7, 23 - n))
    factories.make_patient(practice, family_name="Other")

    response = post_search(fhir, "Patient", {"family": "Zyskowski", "_count": "2"})

    assert response.status_code == 200
    bundle = response.get_json()
    assert bundle["total"] == 3 and len(bundle["entry"]) == 2
    assert {e["resource"]["name"][0]["family"] for e in bundle["entry"]} == {"Zyskowski"}
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert all("Zyskowski" not in url and "family" not in url for url in links.values())
    next_url = urlsplit(links["next"])
    following = fhir.client.get(f"{next_url.path}?{next_url.query}", headers=fhir._headers(None))
    rest = following.get_json()
    assert following.status_code == 200 and rest["total"] == 3 and len(rest["entry"]) == 1
    assert rest["entry"][0]["resource"]["name"][0]["family"] == "Zyskowski"


def test_a_posted_search_checks_its_parameters_like_a_get(fhir):
    response = post_search(fhir, "Patient", {"shoe-size": "9"})
    assert response.status_code == 400 and expressions(response) == ["shoe-size"]


def test_a_forged_sealed_search_is_refused(fhir):
    response = fhir.get("/fhir/Patient", _sealed="fd1:k1:bm90IGEgc2VhbA==")
    assert response.status_code == 400 and expressions(response) == ["_sealed"]


def test_a_posted_search_needs_the_search_scope_and_a_form(make_fhir):
    reader = make_fhir("system/Location.read")
    assert post_search(reader, "Patient", {"family": "X"}).status_code == 403
    fhir = make_fhir("system/*.*")
    assert fhir.post("/fhir/Patient/_search", {"family": "X"}).status_code == 415
    assert fhir.get("/fhir/Patient/_search").status_code == 405
