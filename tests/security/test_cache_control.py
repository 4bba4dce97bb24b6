"""Finding 13: nothing that may hold patient data is cached, whatever its format.

Before, only HTML pages said ``Cache-Control: no-store``: a FHIR Patient read or search (JSON
with names, phones, birth dates) could be kept by a browser or a shared cache.
"""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def token(practice):
    from app.fhir import auth

    return auth.create_token(name="cache test", scopes="system/*.*",
                             practice_id=practice.id).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}


def test_fhir_answers_with_patient_data_are_never_stored(client, practice, token):
    patient = factories.make_patient(practice)
    read = client.get(f"/fhir/Patient/{patient.id}", headers=bearer(token))
    search = client.get("/fhir/Patient", headers=bearer(token))
    missing = client.get("/fhir/Patient/999999", headers=bearer(token))
    assert (read.status_code, search.status_code, missing.status_code) == (200, 200, 404)
    for response in (read, search, missing):
        assert response.headers["Cache-Control"] == "no-store"


def test_staff_answers_in_any_format_are_never_stored(login):
    staff = login("admin")
    for response in (staff.get("/"), staff.get("/healthz"), staff.post("/sign-out")):
        assert response.headers["Cache-Control"] == "no-store", response.mimetype


def test_the_public_bulk_publish_files_keep_their_public_caching(client, practice):
    manifest = client.get("/fhir/$bulk-publish")
    assert manifest.status_code == 200
    assert manifest.headers["Cache-Control"] == "public, max-age=60"
