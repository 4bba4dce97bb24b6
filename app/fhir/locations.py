"""FHIR Location: the practice's offices, through the directory services."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.meta import Meta
from sqlalchemy import select

from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError
from app.fhir.mapping import location as mapping
from app.fhir.search import SearchParam, SearchRequest, parse_ids, run_page, string_condition
from app.fhir.toolkit import (
    Found,
    HashVersioned,
    ResourceHandler,
    audit_access,
    content_version,
    validated,
)
from app.practice import directory
from app.practice.models import Location, Practice
from app.security import audit

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("name", "string", "Name starts with (case ignored)."),
    SearchParam("address-city", "string", "City starts with (case ignored)."),
    SearchParam("address-state", "string", "Two-letter state (case ignored)."),
    SearchParam("address-postalcode", "string", "Postal code starts with."),
)
_COLUMNS = {"name": Location.name, "address-city": Location.city,
            "address-state": Location.state, "address-postalcode": Location.postal_code}


def served(location: Location) -> FhirLocation:
    resource = mapping.to_fhir(location)
    return resource.model_copy(update={"meta": Meta(versionId=content_version(resource))})


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    conditions: list[Any] = [Location.practice_id == client.practice_id]
    if (ids := request.one("_id")) is not None:
        conditions.append(Location.id.in_(parse_ids(ids)))
    for param, column in _COLUMNS.items():
        if (condition := string_condition(request, param, column)) is not None:
            conditions.append(condition)
    page = run_page(select(Location).where(*conditions).order_by(Location.id), request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Location",
                 detail={"params": sorted(request.params), "results": page.total})
    found = Found([served(location) for location in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _practice_timezone(client: ApiClient) -> str:
    return db.session.get_one(Practice, client.practice_id).timezone


def create(*, client: ApiClient, body: Any) -> FhirLocation:
    values = mapping.from_fhir(validated(FhirLocation, body),
                               default_timezone=_practice_timezone(client))
    try:
        location = directory.create_location(practice_id=client.practice_id, values=values)
    except directory.DuplicateEntry as error:
        raise _conflict(error) from None
    audit_access(audit.Action.FHIR_CREATE, client, "Location", object_id=location.id)
    db.session.commit()
    return served(location)


def _apply(location: Location, resource: FhirLocation) -> list[str]:
    values = mapping.from_fhir(resource, default_timezone=location.timezone)
    try:
        return directory.update_location(location=location, values=values)
    except directory.DuplicateEntry as error:
        raise _conflict(error) from None


def _conflict(error: directory.DuplicateEntry) -> FhirError:
    return FhirError(409, str(error), expression="Location.name", code="duplicate")


_RECORD = HashVersioned("Location", Location, FhirLocation, served, _apply)

HANDLER = ResourceHandler(
    resource_type="Location",
    documentation=("The practice's offices. The IANA time zone is the extension "
                   f"{mapping.TIMEZONE_EXTENSION} (valueCode). versionId is a hash of the "
                   "served content."),
    search_params=SEARCH_PARAMS,
    read=_RECORD.read, search=search, create=create, update=_RECORD.update,
)
