"""The one registry of supported resource types: the views route by it and the
CapabilityStatement is built from it, so what we say we support is what we serve.

Each handler module builds its ``HANDLER`` from ``app.fhir.toolkit``; this module imports the
handlers and lists them (a handler never imports the registry).
"""

from __future__ import annotations

from app.fhir import (
    appointments,
    communications,
    locations,
    patients,
    practitioners,
    questionnaire_responses,
    questionnaires,
    schedules,
    slots,
)
from app.fhir.errors import FhirError
from app.fhir.toolkit import ResourceHandler

_HANDLERS = {module.HANDLER.resource_type: module.HANDLER for module in (
    patients,
    practitioners,
    locations,
    schedules,
    slots,
    appointments,
    questionnaires,
    questionnaire_responses,
    communications,
)}


def handlers() -> dict[str, ResourceHandler]:
    return _HANDLERS


def handler_for(resource_type: str) -> ResourceHandler:
    handler = _HANDLERS.get(resource_type)
    if handler is None:
        raise FhirError(404, f"Resource type '{resource_type}' is not supported here "
                             f"(supported: {', '.join(sorted(_HANDLERS))}).")
    return handler
