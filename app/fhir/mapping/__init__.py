"""Mapping between our records and FHIR resources, both ways.

A resource is read into the same raw fields a form or CSV row gives the domain's cleaning
function; ``sources`` remembers which element each field came from, so a field the domain
refuses is reported as the element the client sent (``Patient.telecom[2].value``).
"""

from __future__ import annotations

from app.fhir.errors import InvalidResource


def refused(resource_type: str, errors: dict[str, str], sources: dict[str, str]
            ) -> InvalidResource:
    problems = []
    for field, reason in errors.items():
        expression = sources.get(field, resource_type)
        problems.append((expression, f"{expression}: {reason}"))
    return InvalidResource(problems)


def region_of(country: str | None, default: str = "US") -> str:
    """The phone-number region for an address country given as a two-letter ISO code."""
    if country and len(country) == 2 and country.isalpha():
        return country.upper()
    return default


def joined(parts: list[str | None] | None, separator: str = " ") -> str:
    """A repeating string element as one value. FHIR JSON may hold nulls in such lists (they
    line up with extensions of the other items), so those are skipped."""
    return separator.join(part for part in parts or [] if part)
