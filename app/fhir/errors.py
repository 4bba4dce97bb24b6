"""Every FHIR API failure as an OperationOutcome with the HTTP status that fits it.

Handlers raise ``FhirError`` (or a subclass); the blueprint turns it, any HTTP error and any
unexpected exception into an OperationOutcome. An unexpected exception is logged and answered
with a 500 that names no internals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"

# HTTP status → the OperationOutcome issue code that fits it best.
_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
                405: "not-supported", 406: "not-supported", 409: "conflict", 412: "conflict",
                413: "too-costly", 415: "not-supported", 422: "business-rule",
                500: "exception"}


class FhirError(Exception):
    """A failure the client is told about: ``status``, a readable ``diagnostics`` and, when
    an element is at fault, its FHIRPath ``expression`` (e.g. ``Patient.telecom[1].value``)."""

    def __init__(self, status: int, diagnostics: str, *, expression: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.issues = [Issue(diagnostics, expression, code or _ISSUE_CODES.get(status,
                                                                                "processing"))]
        self.headers = headers or {}


class Issue:
    def __init__(self, diagnostics: str, expression: str | None, code: str) -> None:
        self.diagnostics = diagnostics
        self.expression = expression
        self.code = code


class InvalidResource(FhirError):
    """One or more elements of a posted resource are wrong: one issue per element."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(400, problems[0][1], expression=problems[0][0])
        self.issues = [Issue(reason, expression, "invalid") for expression, reason in problems]


def invalid_resource_from_validation(resource_type: str, error: ValidationError
                                     ) -> InvalidResource:
    """fhir.resources' validation errors, each named by the element at fault."""
    problems = []
    for item in error.errors():
        path = _fhirpath(resource_type, item.get("loc", ()))
        problems.append((path, f"{path}: {item.get('msg', 'invalid value')}"))
    return InvalidResource(problems or [(resource_type, f"{resource_type}: invalid resource")])


def _fhirpath(resource_type: str, loc: Iterable[Any]) -> str:
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        elif part != "__root__":
            path += f".{part}"
    return path


def outcome(issues: Iterable[Issue], severity: str = "error") -> OperationOutcome:
    return OperationOutcome.model_validate({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": issue.code, "diagnostics": issue.diagnostics,
                   **({"expression": [issue.expression]} if issue.expression else {})}
                  for issue in issues],
    })


def fhir_response(resource: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    body = (json.dumps(resource, separators=(",", ":"), ensure_ascii=False)
            if isinstance(resource, dict) else resource.model_dump_json(exclude_none=True))
    response = Response(body, status=status, content_type=FHIR_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(error: FhirError) -> Response:
    return fhir_response(outcome(error.issues), error.status, error.headers)


def register_handlers(bp: Blueprint) -> None:
    @bp.errorhandler(FhirError)
    def fhir_error(error: FhirError) -> Response:
        return error_response(error)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return error_response(FhirError(status, error.description or error.name))

    @bp.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on FHIR %s %s", request.method, request.path)
        return error_response(FhirError(500, "The server could not process the request."))
