"""A maintained third-party FHIR client (fhirpy) reads and searches our API over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError
from flask import Flask
from werkzeug.serving import make_server

from app.fhir import auth
from tests import factories


@pytest.fixture
def live_fhir(app: Flask, make_app: Callable[..., Flask]) -> Iterator[str]:
    """The app (on this test's database, CSRF on as in production) served on a free port."""
    server = make_server("127.0.0.1", 0, make_app(WTF_CSRF_ENABLED=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fhir-live", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_fhirpy_reads_searches_and_pages_with_a_real_token(live_fhir, practice):
    token = auth.create_token(name="fhirpy", scopes="system/*.read",
                              practice_id=practice.id).token
    wanted = [factories.make_patient(practice, family_name="Libtest") for _ in range(3)]
    factories.make_patient(practice, family_name="Someone")
    location = factories.make_location(practice, name="Library office")
    client = SyncFHIRClient(live_fhir, authorization=f"Bearer {token}")

    found = client.resources("Patient").search(family="Libtest").limit(2).fetch_all()
    assert sorted(int(p["id"]) for p in found) == [p.id for p in wanted]
    assert client.resources("Patient").search(family="Libtest").count() == 3

    one = client.reference("Patient", str(wanted[0].id)).to_resource()
    assert one["birthDate"] == wanted[0].date_of_birth.isoformat()
    assert one.get_by_path(["name", 0, "family"]) == "Libtest"

    office = client.resources("Location").search(name="library").first()
    assert office["id"] == str(location.id)


def test_fhirpy_sees_a_refusal_without_a_token(live_fhir, practice):
    client = SyncFHIRClient(live_fhir)
    with pytest.raises(AuthorizationError, match="Bearer"):
        client.resources("Patient").fetch()
