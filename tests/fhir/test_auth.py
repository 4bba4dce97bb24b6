"""Bearer tokens: who may call the API, with which scopes, and what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.fhir import auth
from app.fhir.models import ApiToken
from app.security.models import AuditEvent
from tests import factories
from tests.fhir.conftest import FhirClient
from tests.fhir.outcome import issues


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwdw==", "Bearer nope"])
def test_a_missing_or_unknown_token_is_refused_with_a_bearer_challenge(client, practice,
                                                                      header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/fhir/Patient", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert issues(response)[0]["code"] == "login"


def test_a_revoked_token_stops_working_at_once(fhir, practice):
    assert fhir.get("/fhir/Patient").status_code == 200
    token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    auth.revoke_token(practice_id=practice.id, token_id=token_id)
    assert fhir.get("/fhir/Patient").status_code == 401


def test_a_staff_sign_in_is_no_api_credential_and_api_answers_set_no_cookie(login, practice):
    """The bearer token alone says who calls /fhir: a signed-in staff member's cookie does
    not sign a call in, is not read beside a token, and no answer sets or varies by it."""
    staff = login("front_desk")
    token = auth.create_token(name="EHR", scopes="system/*.read", practice_id=practice.id).token
    refused = FhirClient(staff, None).get("/fhir/Patient")
    answered = FhirClient(staff, token).get("/fhir/Patient")
    assert (refused.status_code, answered.status_code) == (401, 200)
    for answer in (refused, answered):
        assert "Set-Cookie" not in answer.headers
        assert "Cookie" not in answer.headers.get("Vary", "")
    assert staff.get("/inbox").status_code == 200  # still signed in on the staff screens


@pytest.mark.parametrize("scopes", ["system/Location.read", "system/Patient.write",
                                    "system/Patient.c", "system/Patient.r"])
def test_a_token_without_search_rights_on_patients_gets_403(make_fhir, scopes):
    response = make_fhir(scopes).get("/fhir/Patient")
    assert response.status_code == 403
    assert "system/Patient.read" in issues(response)[0]["diagnostics"]


@pytest.mark.parametrize("scopes", ["system/Patient.read", "system/*.read", "system/*.*",
                                    "system/Patient.rs", "system/*.cruds"])
def test_read_scopes_in_v1_and_v2_spelling_allow_search(make_fhir, scopes):
    assert make_fhir(scopes).get("/fhir/Patient").status_code == 200


def test_a_read_only_token_cannot_create(make_fhir):
    response = make_fhir("system/*.read").post("/fhir/Patient", {"resourceType": "Patient"})
    assert response.status_code == 403


def test_write_scope_allows_create_but_not_read(make_fhir, practice):
    writer = make_fhir("system/Patient.write")
    created = writer.post("/fhir/Patient", {
        "resourceType": "Patient", "name": [{"family": "Okafor", "given": ["Ada"]}],
        "birthDate": "1990-04-01"})
    assert created.status_code == 201
    assert writer.get(f"/fhir/Patient/{created.get_json()['id']}").status_code == 403


def test_a_token_sees_only_its_own_practices_patients(make_fhir, practice):
    other = factories.make_practice(name="Elsewhere Dental")
    stranger = factories.make_patient(other)
    response = make_fhir().get(f"/fhir/Patient/{stranger.id}")
    assert response.status_code == 404


def test_every_request_is_audited_with_the_token_as_actor_and_marks_its_use(fhir, practice):
    patient = factories.make_patient(practice)
    assert fhir.get(f"/fhir/Patient/{patient.id}").status_code == 200
    assert fhir.get("/fhir/Patient", family=patient.family_name).status_code == 200
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action.like("fhir.%"))
                                .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.actor_email, e.actor_role) for e in events] == [
        ("fhir.read", "api-token:test system/*.*", "api"),
        ("fhir.search", "api-token:test system/*.*", "api")]
    assert events[0].patient_id == patient.id
    assert str(patient.id) in events[1].detail
    assert patient.family_name not in events[1].detail
    assert db.session.execute(select(ApiToken.last_used_at)).scalar_one() is not None


def test_a_tokens_last_use_is_written_at_most_once_a_minute(fhir):
    def last_used():
        db.session.expire_all()
        return db.session.execute(select(ApiToken.last_used_at)).scalar_one()

    start = datetime(2027, 1, 12, 15, tzinfo=UTC)
    with clock.frozen_at(start):
        assert fhir.get("/fhir/metadata").status_code == 200  # no token asked for
        assert last_used() is None
        assert fhir.get("/fhir/Patient").status_code == 200
        assert last_used() - start < timedelta(seconds=5)
    with clock.frozen_at(start + timedelta(seconds=40)):
        assert fhir.get("/fhir/Patient").status_code == 200
        assert last_used() - start < timedelta(seconds=5)  # unchanged within the minute
    with clock.frozen_at(start + timedelta(seconds=70)):
        assert fhir.get("/fhir/Patient").status_code == 200
        assert last_used() - start >= timedelta(seconds=70)


def test_tokens_are_stored_hashed(fhir):
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert row.token_hash == auth.hash_token(fhir.token)
    assert fhir.token not in (row.token_hash, row.scopes, row.name)


@pytest.mark.parametrize("scopes", ["patient/Patient.read", "system/Patient", "Patient.read",
                                    "system/Patient.delete", "system/patient.read", ""])
def test_scopes_that_are_not_smart_system_scopes_are_refused_at_creation(practice, scopes):
    with pytest.raises(auth.ScopeError):
        auth.create_token(name="bad", scopes=scopes, practice_id=practice.id)


def test_the_cli_prints_the_token_once_lists_and_revokes(runner, practice, client):
    created = runner.invoke(args=["api-token", "create", "--name", "Acme EHR",
                                  "--scopes", "system/*.read"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith(auth.TOKEN_PREFIX)
    assert FhirClient(client, token).get("/fhir/Patient").status_code == 200

    listed = runner.invoke(args=["api-token", "list"])
    assert "Acme EHR" in listed.output and "system/*.read" in listed.output
    assert token not in listed.output
    token_id = listed.output.split()[0]
    revoked = runner.invoke(args=["api-token", "revoke", token_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert FhirClient(client, token).get("/fhir/Patient").status_code == 401


def test_the_cli_names_a_bad_scope(runner, practice):
    result = runner.invoke(args=["api-token", "create", "--name", "x", "--scopes", "user/*.*"])
    assert result.exit_code != 0
    assert "user/*.*" in result.output
