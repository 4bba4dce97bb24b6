"""FHIR API fixtures: a bearer token for the test practice and a client that sends it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.fhir import auth

FHIR_JSON = "application/fhir+json"


class FhirClient:
    """The test client with a bearer token and FHIR JSON on every request."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": FHIR_JSON}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **(extra or {})}

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, query_string=params, headers=self._headers(None))

    def post(self, url: str, resource: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(url, data=json.dumps(resource),
                                headers=self._headers({"Content-Type": FHIR_JSON,
                                                       **(headers or {})}))

    def put(self, url: str, resource: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.put(url, data=json.dumps(resource),
                               headers=self._headers({"Content-Type": FHIR_JSON,
                                                      **(headers or {})}))


@pytest.fixture
def make_fhir(app, client, practice) -> Callable[[str], FhirClient]:  # noqa: ANN001
    """``make_fhir("system/Patient.read")`` → a client holding a new token with those scopes."""

    def build(scopes: str = "system/*.*") -> FhirClient:
        issued = auth.create_token(name=f"test {scopes}", scopes=scopes,
                                   practice_id=practice.id)
        return FhirClient(client, issued.token)

    return build


@pytest.fixture
def fhir(make_fhir) -> FhirClient:  # noqa: ANN001
    return make_fhir("system/*.*")


@pytest.fixture
def example(shared_testdata: Path) -> Callable[[str], dict[str, Any]]:
    """An official HL7 R4 example resource, read from the shared test data."""

    def load(name: str) -> dict[str, Any]:
        path = shared_testdata / "fhir" / "r4-spec-examples" / name
        return json.loads(path.read_text(encoding="utf-8"))

    return load
