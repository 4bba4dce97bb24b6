"""A NUL character in any field is bad input, refused with a 400 that names the field: neither
PostgreSQL's text columns nor its comparisons accept one, so without the refusal a search or a
save holding one failed as a server error (found by the FHIR generated-input run on
PostgreSQL: ``GET /fhir/Location?name=%00``)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.core.jsonio import JsonRefused, read_json
from app.fhir import auth
from app.patients.models import Patient
from tests.fhir.outcome import issues

FHIR_JSON = "application/fhir+json"


def bearer(practice) -> dict[str, str]:  # noqa: ANN001
    token = auth.create_token(name="nul", scopes="system/*.*", practice_id=practice.id).token
    return {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON}


@pytest.mark.parametrize("url", ["/fhir/Location?name=%00", "/fhir/Patient?family=a%00b",
                                 "/fhir/Practitioner?name%00=x"])
def test_a_fhir_search_with_a_nul_is_a_400_outcome_naming_the_parameter(client, practice, url):
    response = client.get(url, headers=bearer(practice))

    assert response.status_code == 400
    diagnostics = issues(response)[0]["diagnostics"]
    assert "a NUL character (\\0) is not accepted" in diagnostics
    assert diagnostics.startswith(("name", "family"))


def test_a_fhir_resource_holding_a_nul_is_refused_and_nothing_is_stored(client, practice, db):
    patient = {"resourceType": "Patient", "name": [{"family": "Ab\u0000c", "given": ["Ana"]}],
               "gender": "female", "birthDate": "1980-01-01"}
    response = client.post("/fhir/Patient", data=json.dumps(patient),
                           headers={**bearer(practice), "Content-Type": FHIR_JSON})

    assert response.status_code == 400
    assert "NUL character" in issues(response)[0]["diagnostics"]
    assert db.session.execute(select(func.count()).select_from(Patient)).scalar() == 0


def test_a_staff_form_with_a_nul_is_a_400_page_naming_the_field(login):
    staff = login("front_desk")

    response = staff.post("/patients/search", data={"q": "Gar\x00cia"})

    assert response.status_code == 400
    assert "q: a NUL character (\\0) is not accepted" in response.get_data(as_text=True)


def test_the_json_reader_refuses_the_nul_escape_but_not_an_escaped_backslash():
    with pytest.raises(JsonRefused, match="NUL character"):
        read_json(b'{"a": "x\\u0000"}')
    with pytest.raises(JsonRefused, match="NUL character"):
        read_json(b'{"a": "\\\\\\u0000"}')  # an escaped backslash, then the NUL escape
    assert read_json(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}  # backslash, then text
