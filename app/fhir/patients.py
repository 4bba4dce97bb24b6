"""FHIR Patient: read, search, create and update, through the patient services.

Names, birth dates, phones, emails and record numbers are encrypted, so every search on them
is an exact match through a blind index. FHIR's default "starts with" name search is
therefore approximated by an exact (case- and accent-insensitive) match on the family name;
``given`` is checked against the few records that family name finds, so it needs ``family``
(or ``name``) beside it. ``birthdate`` supports exact dates only, since a range would need
every birth date decrypted.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.patient import Patient as FhirPatient
from sqlalchemy import false, select

from app.core import phones
from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError
from app.fhir.mapping import patient as mapping
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    instant_conditions,
    parse_ids,
    parse_plain_date,
    parse_token,
    practice_zone,
    run_page,
    slice_page,
)
from app.fhir.toolkit import (
    Found,
    ResourceHandler,
    audit_access,
    check_body_id,
    check_if_match,
    load_owned,
    validated,
)
from app.patients import lookups, services
from app.patients.models import Patient
from app.security import audit, blind_index

DEFAULT_REGION = "US"
GIVEN_CANDIDATE_LIMIT = 1000

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("identifier", "token",
                f"The practice's record number (external id), with or without the system "
                f"{mapping.EXTERNAL_ID_SYSTEM}: identifier=LEG-1 or "
                f"identifier={mapping.EXTERNAL_ID_SYSTEM}|LEG-1."),
    SearchParam("name", "string", "Exact family name (names are encrypted: not 'starts with')."),
    SearchParam("family", "string", "Exact family name (case and accents ignored)."),
    SearchParam("given", "string", "Exact given name; only together with family or name."),
    SearchParam("birthdate", "date", "Exact birth date YYYY-MM-DD (no ranges: encrypted)."),
    SearchParam("phone", "token", "Mobile or home phone in any format."),
    SearchParam("email", "token", "Email address (case ignored)."),
    SearchParam("telecom", "token", "phone|<number>, sms|<number>, email|<address>, or a "
                                    "bare number or address."),
    SearchParam("_lastUpdated", "date", "When the record last changed: eq, gt, ge, lt, le."),
)


def read(*, client: ApiClient, resource_id: str) -> FhirPatient:
    patient = load_owned(Patient, "Patient", client, resource_id)
    audit_access(audit.Action.FHIR_READ, client, "Patient", object_id=patient.id,
                 patient_id=patient.id)
    db.session.commit()
    return mapping.to_fhir(patient)


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    conditions = [Patient.practice_id == client.practice_id, lookups.not_merged(),
                  *_conditions(client, request)]
    stmt = select(Patient).where(*conditions).order_by(Patient.id)
    given = request.one("given")
    if given is None:
        page = run_page(stmt, request)
    else:
        if request.one("family") is None and request.one("name") is None:
            raise FhirError(400, "'given' needs 'family' (or 'name') beside it: given names "
                                 "are encrypted and found only among one family's records.",
                            expression="given")
        candidates = db.session.execute(stmt.limit(GIVEN_CANDIDATE_LIMIT)).scalars()
        page = slice_page([p for p in candidates if _given_fits(p, given)], request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Patient", detail={
        "params": sorted(request.params), "results": page.total,
        "patient_ids": [p.id for p in page.rows]})
    found = Found([mapping.to_fhir(p) for p in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _conditions(client: ApiClient, request: SearchRequest) -> list[Any]:
    conditions: list[Any] = []
    if (ids := request.one("_id")) is not None:
        conditions.append(Patient.id.in_(parse_ids(ids)))
    if (value := request.one("identifier")) is not None:
        system, code = parse_token(value)
        conditions.append(lookups.external_id_is(code)
                          if system in (None, mapping.EXTERNAL_ID_SYSTEM) else false())
    for name in ("name", "family"):
        if (family := request.one(name)) is not None:
            conditions.append(lookups.family_name_in([family]))
    if (born := request.one("birthdate")) is not None:
        day = parse_plain_date("birthdate", born, "birth dates are encrypted and found by "
                                                  "exact match only, so ranges are not possible")
        conditions.append(lookups.born_on(day))
    if (number := request.one("phone")) is not None:
        conditions.append(_phone_condition("phone", number))
    if (email := request.one("email")) is not None:
        conditions.append(lookups.email_is(email))
    if (telecom := request.one("telecom")) is not None:
        conditions.append(_telecom_condition(telecom))
    if "_lastUpdated" in request.params:
        conditions += instant_conditions("_lastUpdated", request.params["_lastUpdated"],
                                         Patient.updated_at,
                                         zone=practice_zone(client.practice_id))
    return conditions


def _phone_condition(param: str, number: str) -> Any:
    try:
        e164 = phones.to_e164(number, DEFAULT_REGION)
    except phones.InvalidPhoneNumber:
        raise FhirError(400, f"'{param}' is not a phone number we can read: {number!r}.",
                        expression=param) from None
    return lookups.phone_is(e164)


def _telecom_condition(value: str) -> Any:
    system, code = parse_token(value)
    if system in ("phone", "sms") or (system is None and "@" not in code):
        return _phone_condition("telecom", code)
    if system in ("email", None):
        return lookups.email_is(code)
    raise FhirError(400, f"telecom system {system!r} is not searchable (phone, sms, email).",
                    expression="telecom")


def _given_fits(patient: Patient, given: str) -> bool:
    wanted = blind_index.normalize_name(given)
    names = blind_index.normalize_name(patient.given_name)
    return wanted == names or wanted in names.split()


def create(*, client: ApiClient, body: Any) -> FhirPatient:
    values = mapping.from_fhir(validated(FhirPatient, body), default_region=DEFAULT_REGION)
    _check_external_id(client, values.external_id, None)
    patient = services.create_patient(practice_id=client.practice_id, values=values,
                                      audited=False)
    audit_access(audit.Action.FHIR_CREATE, client, "Patient", object_id=patient.id,
                 patient_id=patient.id)
    db.session.commit()
    return mapping.to_fhir(patient)


def update(*, client: ApiClient, resource_id: str, body: Any,
           if_match: str | None) -> FhirPatient:
    resource = validated(FhirPatient, body)
    check_body_id(resource, resource_id)
    patient = load_owned(Patient, "Patient", client, resource_id, for_update=True)
    check_if_match(if_match, mapping.version(patient))
    values = mapping.from_fhir(resource, default_region=DEFAULT_REGION)
    _check_external_id(client, values.external_id, patient.id)
    changes = services.update_patient(patient=patient, values=values, audited=False)
    audit_access(audit.Action.FHIR_UPDATE, client, "Patient", object_id=patient.id,
                 patient_id=patient.id, detail={"fields": changes})
    db.session.commit()
    return mapping.to_fhir(patient)


def _check_external_id(client: ApiClient, external_id: str | None, patient_id: int | None
                       ) -> None:
    if external_id is None:
        return
    holder = lookups.patient_by_external_id(practice_id=client.practice_id,
                                            external_id=external_id)
    if holder is not None and holder.id != patient_id:
        raise FhirError(409, "Another patient already has this record number (identifier).",
                        expression="Patient.identifier", code="duplicate")


HANDLER = ResourceHandler(
    resource_type="Patient",
    documentation=(
        "Patients of the token's practice. Searches on encrypted fields are exact matches "
        "through blind indexes. Elements Frontdesk does not keep are accepted and dropped; "
        "see the search parameters for what can be found."),
    search_params=SEARCH_PARAMS,
    read=read, search=search, create=create, update=update,
)
