"""Our FHIR R4 API: the standard door into Frontdesk for EHRs and integrators."""
