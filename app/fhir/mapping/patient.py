"""Patient ↔ FHIR Patient.

What we keep of a posted Patient (everything else is accepted and not stored):

* ``name``: the ``official`` name (else the first with a family name): family, and the given
  names joined with spaces.
* ``birthDate`` (a full date, required), ``gender`` (male, female, other, unknown).
* ``telecom``: the first (by ``rank``) ``sms`` or ``phone``/``mobile`` as the mobile phone we
  text; the first ``phone`` with use ``home`` or no use as the home phone; the first
  ``email``. Work, old and temporary numbers are not kept. Numbers without a country code are
  read in the address's country (a two-letter code) or else in the US.
* ``address``: the ``home`` address (else the first that is not ``old``): lines joined with
  ", ", city, two-letter state, postal code.
* ``communication``: the first language we message in (en, es; ``en-US`` counts as en).
* ``identifier``: the practice's record number (our ``external_id``). It is served with the
  system ``urn:frontdesk:external-id``; on write, an identifier with that system wins, else the
  first identifier that is not ``old``.

``meta.versionId`` is derived from the record's ``updated_at`` (microseconds since the Unix
epoch), so it changes with every stored change and needs no column of its own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fhir.resources.R4B.patient import Patient as FhirPatient

from app.fhir.mapping import joined, refused, region_of
from app.patients.models import Patient
from app.patients.services import PatientFields, PatientInputError, clean_patient_fields

EXTERNAL_ID_SYSTEM = "urn:frontdesk:external-id"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
GENDERS = ("male", "female", "other", "unknown")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version(patient: Patient) -> str:
    return str((patient.updated_at - _EPOCH) // timedelta(microseconds=1))


def to_fhir(patient: Patient) -> FhirPatient:
    telecom: list[dict[str, Any]] = []
    if patient.mobile_phone:
        telecom.append({"system": "phone", "value": patient.mobile_phone, "use": "mobile"})
    if patient.home_phone:
        telecom.append({"system": "phone", "value": patient.home_phone, "use": "home"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    address = {key: value for key, value in (
        ("use", "home"), ("line", [patient.address_line] if patient.address_line else None),
        ("city", patient.city), ("state", patient.state), ("postalCode", patient.postal_code),
    ) if value}
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": {"versionId": version(patient), "lastUpdated": patient.updated_at.isoformat()},
        "identifier": [{"use": "usual", "system": EXTERNAL_ID_SYSTEM,
                        "value": patient.external_id}] if patient.external_id else None,
        "name": [{"use": "official", "family": patient.family_name,
                  "given": patient.given_name.split()}],
        "telecom": telecom or None,
        "gender": patient.sex,
        "birthDate": patient.date_of_birth.isoformat(),
        "address": [address] if len(address) > 1 else None,
        "communication": [{"language": {"coding": [{"system": LANGUAGE_SYSTEM,
                                                    "code": patient.preferred_language}]},
                           "preferred": True}],
    }
    return FhirPatient.model_validate({k: v for k, v in data.items() if v is not None})


def from_fhir(resource: FhirPatient, *, default_region: str = "US") -> PatientFields:
    """Clean patient fields from a validated resource. Raises InvalidResource naming each
    element our records cannot hold."""
    taken = _Taken()
    problems: dict[str, str] = {}
    _take_name(resource, taken)
    taken.sources["date_of_birth"] = "Patient.birthDate"
    if isinstance(resource.birthDate, date):
        taken.raw["date_of_birth"] = resource.birthDate
    elif resource.birthDate:
        problems["date_of_birth"] = "a full date (YYYY-MM-DD) is required"
    taken.sources["sex"] = "Patient.gender"
    if resource.gender and resource.gender not in GENDERS:
        problems["sex"] = f"unknown gender {resource.gender!r} ({', '.join(GENDERS)})"
    else:
        taken.raw["sex"] = resource.gender or "unknown"
    region = _take_address(resource, taken, default_region)
    _take_telecom(resource, taken)
    _take_language(resource, taken)
    _take_identifier(resource, taken)
    try:
        values = clean_patient_fields(taken.raw, default_region=region)
    except PatientInputError as error:
        raise refused("Patient", {**error.errors, **problems}, taken.sources) from None
    if problems:
        raise refused("Patient", problems, taken.sources)
    return values


class _Taken:
    """Raw field values for the domain's cleaning function, and the element of each."""

    def __init__(self) -> None:
        self.raw: dict[str, object] = {}
        self.sources: dict[str, str] = {}

    def __call__(self, field: str, value: object, expression: str) -> None:
        self.raw[field] = value
        self.sources[field] = expression


def _take_name(resource: FhirPatient, take: _Taken) -> None:
    names = list(enumerate(resource.name or []))
    chosen = next(((i, n) for i, n in names if n.use == "official"), None) or next(
        ((i, n) for i, n in names if n.family and n.use != "old"), None)
    if chosen is None:
        take("family_name", None, "Patient.name")
        take("given_name", None, "Patient.name")
        return
    index, name = chosen
    take("family_name", name.family, f"Patient.name[{index}].family")
    take("given_name", joined(name.given), f"Patient.name[{index}].given")


def _take_address(resource: FhirPatient, take: _Taken, default_region: str) -> str:
    addresses = [(i, a) for i, a in enumerate(resource.address or []) if a.use != "old"]
    chosen = next(((i, a) for i, a in addresses if a.use == "home"), None) or next(
        iter(addresses), None)
    if chosen is None:
        return default_region
    index, address = chosen
    path = f"Patient.address[{index}]"
    take("address_line", joined(address.line, ", ") or None, f"{path}.line")
    take("city", address.city, f"{path}.city")
    take("state", address.state, f"{path}.state")
    take("postal_code", address.postalCode, f"{path}.postalCode")
    return region_of(address.country, default_region)


def _take_telecom(resource: FhirPatient, take: _Taken) -> None:
    points = sorted(enumerate(resource.telecom or []),
                    key=lambda pair: (pair[1].rank or 2**31, pair[0]))
    for index, point in points:
        if not point.value or point.use == "old":
            continue
        path = f"Patient.telecom[{index}].value"
        if point.system == "sms" or (point.system == "phone" and point.use == "mobile"):
            field = "mobile_phone"
        elif point.system == "phone" and point.use in (None, "home"):
            field = "home_phone"
        elif point.system == "email":
            field = "email"
        else:
            continue
        if field not in take.raw:
            take(field, point.value, path)


def _take_language(resource: FhirPatient, take: _Taken) -> None:
    for index, item in enumerate(resource.communication or []):
        codes = [coding.code for coding in item.language.coding or [] if coding.code]
        for code in codes + ([item.language.text] if item.language.text else []):
            language = code.split("-")[0].lower()
            if language in ("en", "es"):
                take("preferred_language", language, f"Patient.communication[{index}]")
                return


def _take_identifier(resource: FhirPatient, take: _Taken) -> None:
    identifiers = [(i, x) for i, x in enumerate(resource.identifier or [])
                   if x.value and x.use != "old"]
    chosen = next(((i, x) for i, x in identifiers if x.system == EXTERNAL_ID_SYSTEM), None) or \
        next(iter(identifiers), None)
    if chosen is not None:
        take("external_id", chosen[1].value, f"Patient.identifier[{chosen[0]}].value")
