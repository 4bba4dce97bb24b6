"""JSON from outside is read by one depth-checking reader (``app/core/jsonio.py``): a body
nested too deep is a 400 that says so, before any parser or validator recurses into it
(security review finding 10), and ordinary nesting still works."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.jsonio import MAX_DEPTH, JsonRefused, read_json
from tests.fhir.outcome import issues
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS, post_sendgrid

FHIR_JSON = "application/fhir+json"


def nested_extension(depth: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "https://example.org/leaf", "valueString": "x"}
    for level in range(depth):
        extension = {"url": f"https://example.org/level{level}", "extension": [extension]}
    return {"resourceType": "Patient", "name": [{"family": "Deep", "given": ["Ana"]}],
            "gender": "female", "birthDate": "1980-01-01", "extension": [extension]}


def test_the_reader_counts_brackets_outside_strings_only():
    assert read_json(b'{"a": "[[[[{{{{", "b": [[[1]]]}') == {"a": "[[[[{{{{", "b": [[[1]]]}
    assert read_json("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(JsonRefused, match=f"nested deeper than {MAX_DEPTH} levels"):
        read_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(JsonRefused, match="not valid JSON"):
        read_json(b'{"a": ')


@pytest.mark.parametrize("depth", [200, 100_000])
def test_a_fhir_patient_nested_too_deep_is_a_400_outcome(app, client, practice, depth):
    from app.fhir import auth

    token = auth.create_token(name="deep", scopes="system/*.*", practice_id=practice.id).token
    body = (json.dumps(nested_extension(200)) if depth == 200
            else '{"resourceType": "Patient", "extension": ' + "[" * depth + "]" * depth + "}")
    response = client.post("/fhir/Patient", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON})

    assert response.status_code == 400
    assert f"nested deeper than {MAX_DEPTH} levels" in issues(response)[0]["diagnostics"]


def test_a_fhir_patient_with_some_nesting_is_still_created(app, client, practice):
    from app.fhir import auth

    token = auth.create_token(name="nested", scopes="system/*.*", practice_id=practice.id).token
    response = client.post("/fhir/Patient", data=json.dumps(nested_extension(5)), headers={
        "Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON})

    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.app_settings(**WEBHOOK_SETTINGS)
def test_a_signed_sendgrid_body_five_thousand_levels_deep_is_a_400(client):
    body = b"[" * 5000 + b"]" * 5000
    response = post_sendgrid(client, body)

    assert response.status_code == 400
    assert response.data == (f"body: nested deeper than {MAX_DEPTH} levels "
                             "(expected a JSON array of events)").encode()
