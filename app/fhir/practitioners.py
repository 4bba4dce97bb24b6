"""FHIR Practitioner: the practice's providers, through the directory services."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.practitioner import Practitioner
from sqlalchemy import false, or_, select

from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError
from app.fhir.mapping import practitioner as mapping
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    parse_ids,
    parse_token,
    run_page,
    string_condition,
)
from app.fhir.toolkit import (
    Found,
    HashVersioned,
    ResourceHandler,
    audit_access,
    content_version,
    validated,
)
from app.practice import directory
from app.practice.models import Provider
from app.security import audit

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("name", "string", "Starts with (case ignored) the family or given name."),
    SearchParam("family", "string", "Family name starts with (case ignored)."),
    SearchParam("given", "string", "Given name starts with (case ignored)."),
    SearchParam("identifier", "token", f"NPI, with or without the system {mapping.NPI_SYSTEM}."),
)


def served(provider: Provider) -> Practitioner:
    resource = mapping.to_fhir(provider)
    return resource.model_copy(update={"meta": Meta(versionId=content_version(resource))})


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    conditions: list[Any] = [Provider.practice_id == client.practice_id]
    if (ids := request.one("_id")) is not None:
        conditions.append(Provider.id.in_(parse_ids(ids)))
    name_either = [string_condition(request, "name", column)
                   for column in (Provider.family_name, Provider.given_name)]
    if name_either[0] is not None:
        conditions.append(or_(*name_either))
    for param, column in (("family", Provider.family_name), ("given", Provider.given_name)):
        if (condition := string_condition(request, param, column)) is not None:
            conditions.append(condition)
    if (value := request.one("identifier")) is not None:
        system, code = parse_token(value)
        conditions.append(Provider.npi == code if system in (None, mapping.NPI_SYSTEM)
                          else false())
    page = run_page(select(Provider).where(*conditions).order_by(Provider.id), request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Practitioner",
                 detail={"params": sorted(request.params), "results": page.total})
    found = Found([served(p) for p in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def create(*, client: ApiClient, body: Any) -> Practitioner:
    values = mapping.from_fhir(validated(Practitioner, body))
    try:
        provider = directory.create_provider(practice_id=client.practice_id, values=values)
    except directory.DuplicateEntry as error:
        raise _conflict(error) from None
    audit_access(audit.Action.FHIR_CREATE, client, "Practitioner", object_id=provider.id)
    db.session.commit()
    return served(provider)


def _apply(provider: Provider, resource: Practitioner) -> list[str]:
    try:
        return directory.update_provider(provider=provider, values=mapping.from_fhir(resource))
    except directory.DuplicateEntry as error:
        raise _conflict(error) from None


def _conflict(error: directory.DuplicateEntry) -> FhirError:
    return FhirError(409, str(error), expression="Practitioner.identifier", code="duplicate")


_RECORD = HashVersioned("Practitioner", Provider, Practitioner, served, _apply)

HANDLER = ResourceHandler(
    resource_type="Practitioner",
    documentation=("The practice's providers. versionId is a hash of the served content. "
                   "Only the NPI identifier is kept."),
    search_params=SEARCH_PARAMS,
    read=_RECORD.read, search=search, create=create, update=_RECORD.update,
)
