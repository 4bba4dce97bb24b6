"""Reading OperationOutcome error responses in tests."""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json"


def issues(response: Any) -> list[dict[str, Any]]:
    """The OperationOutcome issues of an error response (and proof that it is one)."""
    assert response.mimetype == FHIR_JSON, response.data[:200]
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]


def expressions(response: Any) -> list[str]:
    return [e for issue in issues(response) for e in issue.get("expression", [])]
