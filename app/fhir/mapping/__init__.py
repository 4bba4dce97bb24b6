"""Mapping between our records and FHIR resources, both ways.

A resource is read into the same raw fields a form or CSV row gives the domain's cleaning
function; ``sources`` remembers which element each field came from, so a field the domain
refuses is reported as the element the client sent (``Patient.telecom[2].value``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel.core import get_global

from app.core.types import EARLIEST, LATEST, utc_in_range
from app.fhir.errors import InvalidResource


def refused(resource_type: str, errors: dict[str, str], sources: dict[str, str]
            ) -> InvalidResource:
    problems = []
    for field, reason in errors.items():
        expression = sources.get(field, resource_type)
        problems.append((expression, f"{expression}: {reason}"))
    return InvalidResource(problems)


def instant_text(moment: datetime) -> str:
    """A stored instant as FHIR wants it: UTC, to the second, a four-digit year."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def kept_instant(moment: datetime, path: str) -> datetime:
    """An instant the client sent, in UTC; InvalidResource naming ``path`` when it lies
    outside the years we keep."""
    utc = utc_in_range(moment)
    if utc is None:
        raise InvalidResource([(path, f"{path} must lie between {EARLIEST.year} and "
                                      f"{LATEST.year - 1}")])
    return utc


def region_of(country: str | None, default: str = "US") -> str:
    """The region (ISO 3166 two-letter code) of an address country given as a two- or
    three-letter ISO code ("NL", "NLD"; CLDR's aliases through Babel); ``default`` for
    anything else. It decides how phones are read and whether US state and ZIP rules apply."""
    code = (country or "").strip().upper()
    if len(code) == 2 and code.isalpha():
        return code
    aliases = get_global("territory_aliases").get(code) if len(code) == 3 else None
    return aliases[0] if aliases else default


def joined(parts: list[str | None] | None, separator: str = " ") -> str:
    """A repeating string element as one value. FHIR JSON may hold nulls in such lists (they
    line up with extensions of the other items), so those are skipped."""
    return separator.join(part for part in parts or [] if part)
