"""GET /fhir/metadata: the CapabilityStatement, built from the handler registry."""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from app.fhir.registry import handlers

FHIR_VERSION = "4.0.1"
RELEASED = date(2026, 11, 24)  # when this statement's content last changed
SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def capability_statement(base_url: str) -> CapabilityStatement:
    resources = [{
        "type": handler.resource_type,
        "documentation": handler.documentation,
        "interaction": [{"code": code} for code in handler.interactions],
        "versioning": "versioned-update" if handler.update else "versioned",
        "readHistory": False,
        "updateCreate": False,
        "searchParam": [{"name": p.name, "type": p.type, "documentation": p.documentation}
                        for p in handler.search_params],
    } for handler in handlers().values()]
    return CapabilityStatement.model_validate({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": RELEASED.isoformat(),
        "publisher": "Frontdesk",
        "kind": "instance",
        "software": {"name": "Frontdesk"},
        "implementation": {"description": "Frontdesk FHIR R4 API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": (
                "Search results page with _count (at most 100) and _offset; follow the "
                "Bundle's next link. Unknown search parameters are refused with 400. "
                "Send patient-identifying searches as POST [type]/_search with "
                "form-encoded parameters: they stay out of URLs and logs."),
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": SECURITY_SYSTEM, "code": "SMART-on-FHIR"}]}],
                "description": (
                    "Send 'Authorization: Bearer <token>'. Tokens are issued to a practice by "
                    "its administrator (flask api-token create) with SMART system scopes: "
                    "system/<Type>.read|write|*, system/*.read, system/*.*, or v2 letters "
                    "such as system/Patient.rs or system/*.cruds."),
            },
            "resource": resources,
        }],
    })
