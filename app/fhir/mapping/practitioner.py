"""Provider ↔ FHIR Practitioner.

Kept: the ``official`` name (else the first): family, given names joined with spaces,
prefixes ("Dr") and suffixes (credentials such as "DDS"); ``active``; the NPI, as the
identifier with system ``http://hl7.org/fhir/sid/us-npi``. Other identifiers, addresses and
qualifications are accepted and not stored.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.practitioner import Practitioner

from app.fhir.mapping import joined, refused
from app.practice.directory import DirectoryInputError, ProviderFields, clean_provider_fields
from app.practice.models import Provider

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def to_fhir(provider: Provider) -> Practitioner:
    name: dict[str, Any] = {"use": "official", "family": provider.family_name,
                            "given": provider.given_name.split()}
    if provider.prefix:
        name["prefix"] = provider.prefix.split()
    if provider.credentials:
        name["suffix"] = provider.credentials.split()
    data: dict[str, Any] = {"resourceType": "Practitioner", "id": str(provider.id),
                            "active": provider.active, "name": [name]}
    if provider.npi:
        data["identifier"] = [{"system": NPI_SYSTEM, "value": provider.npi}]
    return Practitioner.model_validate(data)


def from_fhir(resource: Practitioner) -> ProviderFields:
    raw: dict[str, object] = {"active": True if resource.active is None else resource.active}
    sources = {"given_name": "Practitioner.name", "family_name": "Practitioner.name"}
    names = list(enumerate(resource.name or []))
    chosen = next(((i, n) for i, n in names if n.use == "official"), None) or next(
        iter(names), None)
    if chosen is not None:
        index, name = chosen
        path = f"Practitioner.name[{index}]"
        raw.update(given_name=joined(name.given), family_name=name.family,
                   prefix=joined(name.prefix), credentials=joined(name.suffix))
        sources.update(given_name=f"{path}.given", family_name=f"{path}.family",
                       prefix=f"{path}.prefix", credentials=f"{path}.suffix")
    for index, identifier in enumerate(resource.identifier or []):
        if identifier.system == NPI_SYSTEM and identifier.value:
            raw["npi"] = identifier.value
            sources["npi"] = f"Practitioner.identifier[{index}].value"
            break
    try:
        return clean_provider_fields(raw)
    except DirectoryInputError as error:
        raise refused("Practitioner", error.errors, sources) from None
