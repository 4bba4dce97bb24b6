"""Location ↔ FHIR Location.

Kept: ``name``; ``address`` (lines joined with ", ", city, two-letter state or none, postal
code); the first ``phone`` in ``telecom`` (the number patients call, required); the IANA time
zone in the extension ``http://hl7.org/fhir/StructureDefinition/timezone`` (``valueCode``;
R4 has no element for it), the practice's zone when absent. ``status`` is served as active.
Identifiers, aliases, position, managing organization and endpoints are accepted and not
stored.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.location import Location as FhirLocation

from app.fhir.mapping import joined, refused, region_of
from app.practice.directory import DirectoryInputError, LocationFields, clean_location_fields
from app.practice.models import Location

TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"


def to_fhir(location: Location) -> FhirLocation:
    address: dict[str, Any] = {"use": "work", "line": [location.address_line],
                               "city": location.city, "postalCode": location.postal_code}
    if location.state:
        address["state"] = location.state
    return FhirLocation.model_validate({
        "resourceType": "Location", "id": str(location.id), "status": "active",
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": location.timezone}],
        "name": location.name,
        "telecom": [{"system": "phone", "value": location.phone, "use": "work"}],
        "address": address,
    })


def from_fhir(resource: FhirLocation, *, default_timezone: str,
              default_region: str = "US") -> LocationFields:
    raw: dict[str, object] = {"name": resource.name, "timezone": default_timezone}
    sources = {"name": "Location.name", "timezone": "Location.extension",
               "phone": "Location.telecom", "address_line": "Location.address.line",
               "city": "Location.address.city", "state": "Location.address.state",
               "postal_code": "Location.address.postalCode"}
    for index, extension in enumerate(resource.extension or []):
        if extension.url == TIMEZONE_EXTENSION:
            raw["timezone"] = extension.valueCode
            sources["timezone"] = f"Location.extension[{index}].valueCode"
    region = default_region
    if resource.address is not None:
        address = resource.address
        raw.update(address_line=joined(address.line, ", "), city=address.city,
                   state=address.state, postal_code=address.postalCode)
        region = region_of(address.country, default_region)
    for index, point in enumerate(resource.telecom or []):
        if point.system == "phone" and point.value:
            raw["phone"] = point.value
            sources["phone"] = f"Location.telecom[{index}].value"
            break
    try:
        return clean_location_fields(raw, default_region=region)
    except DirectoryInputError as error:
        raise refused("Location", error.errors, sources) from None
