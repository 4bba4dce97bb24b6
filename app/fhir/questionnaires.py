"""FHIR Questionnaire: the practice's form definitions, kept whole (see mapping/questionnaire)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from sqlalchemy import select

from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.mapping import questionnaire as mapping
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    instant_conditions,
    parse_ids,
    practice_zone,
    run_page,
    string_condition,
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
from app.intake import services
from app.intake.models import Questionnaire
from app.security import audit

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("url", "uri", "The canonical URL, exactly."),
    SearchParam("version", "token", "The business version, exactly."),
    SearchParam("name", "string", "Computer-friendly name starts with (case ignored)."),
    SearchParam("title", "string", "Title starts with (case ignored)."),
    SearchParam("status", "token", "draft, active, retired or unknown."),
    SearchParam("_lastUpdated", "date", "When the record last changed: eq, gt, ge, lt, le."),
)


def served(questionnaire: Questionnaire) -> FhirQuestionnaire:
    return mapping.questionnaire_to_fhir(questionnaire,
                                         services.questionnaire_definition(questionnaire))


def read(*, client: ApiClient, resource_id: str) -> FhirQuestionnaire:
    questionnaire = load_owned(Questionnaire, "Questionnaire", client, resource_id)
    audit_access(audit.Action.FHIR_READ, client, "Questionnaire", object_id=questionnaire.id)
    db.session.commit()
    return served(questionnaire)


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    conditions: list[Any] = [Questionnaire.practice_id == client.practice_id]
    if (ids := request.one("_id")) is not None:
        conditions.append(Questionnaire.id.in_(parse_ids(ids)))
    for param, column in (("url", Questionnaire.url), ("version", Questionnaire.version),
                          ("status", Questionnaire.status)):
        if (value := request.one(param)) is not None:
            conditions.append(column == value)
    for param, column in (("name", Questionnaire.name), ("title", Questionnaire.title)):
        if (condition := string_condition(request, param, column)) is not None:
            conditions.append(condition)
    if "_lastUpdated" in request.params:
        conditions += instant_conditions("_lastUpdated", request.params["_lastUpdated"],
                                         Questionnaire.updated_at,
                                         zone=practice_zone(client.practice_id))
    page = run_page(select(Questionnaire).where(*conditions).order_by(Questionnaire.id),
                    request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Questionnaire",
                 detail={"params": sorted(request.params), "results": page.total})
    found = Found([served(questionnaire) for questionnaire in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def create(*, client: ApiClient, body: Any) -> FhirQuestionnaire:
    definition = mapping.stored_json(validated(FhirQuestionnaire, body))
    try:
        questionnaire = services.create_questionnaire(practice_id=client.practice_id,
                                                      definition=definition)
    except services.IntakeInputError as error:
        raise mapping.refused("Questionnaire", error) from None
    audit_access(audit.Action.FHIR_CREATE, client, "Questionnaire", object_id=questionnaire.id)
    db.session.commit()
    return served(questionnaire)


def update(*, client: ApiClient, resource_id: str, body: Any,
           if_match: str | None) -> FhirQuestionnaire:
    resource = validated(FhirQuestionnaire, body)
    check_body_id(resource, resource_id)
    questionnaire = load_owned(Questionnaire, "Questionnaire", client, resource_id,
                               for_update=True)
    check_if_match(if_match, mapping.version(questionnaire))
    try:
        services.update_questionnaire(questionnaire=questionnaire,
                                      definition=mapping.stored_json(resource))
    except services.IntakeInputError as error:
        raise mapping.refused("Questionnaire", error) from None
    audit_access(audit.Action.FHIR_UPDATE, client, "Questionnaire", object_id=questionnaire.id)
    db.session.commit()
    return served(questionnaire)


HANDLER = ResourceHandler(
    resource_type="Questionnaire",
    documentation=(
        "The practice's form definitions, kept whole: a Questionnaire reads back as written "
        "(but for id and meta). linkIds must be unique. Responses that name a Questionnaire "
        "held here (by url, url|version or Questionnaire/<id>) are checked against it."),
    search_params=SEARCH_PARAMS,
    read=read, search=search, create=create, update=update,
)
