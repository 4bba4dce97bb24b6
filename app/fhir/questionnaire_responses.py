"""FHIR QuestionnaireResponse: patients' answers, kept whole and encrypted (they are PHI).

The forms services link a response to its patient (subject ``Patient/<id>``, which must be
ours) and to its questionnaire (when we hold it), check the answers against that
questionnaire, and audit every read and write.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)
from sqlalchemy import false, or_, select

from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.mapping import questionnaire as mapping
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    instant_conditions,
    parse_ids,
    parse_reference,
    practice_zone,
    run_page,
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
from app.intake.models import Questionnaire, QuestionnaireResponse
from app.security import audit

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("patient", "reference", "The patient who answered: Patient/<id> or <id>."),
    SearchParam("subject", "reference", "The subject, when it is one of our patients: "
                                        "Patient/<id>."),
    SearchParam("questionnaire", "reference",
                "The questionnaire answered: its canonical url (or url|version) as given "
                "in the response, or Questionnaire/<id> of one held here."),
    SearchParam("status", "token", "in-progress, completed, amended, entered-in-error or "
                                   "stopped."),
    SearchParam("authored", "date", "When the answers were given: eq, gt, ge, lt, le."),
    SearchParam("_lastUpdated", "date", "When the record last changed: eq, gt, ge, lt, le."),
)


def read(*, client: ApiClient, resource_id: str) -> FhirQuestionnaireResponse:
    response = load_owned(QuestionnaireResponse, "QuestionnaireResponse", client, resource_id)
    content = services.read_response(response=response, actor=client)
    db.session.commit()
    return mapping.response_to_fhir(response, content)


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    conditions = [QuestionnaireResponse.practice_id == client.practice_id,
                  *_conditions(client, request)]
    stmt = select(QuestionnaireResponse).where(*conditions).order_by(QuestionnaireResponse.id)
    page = run_page(stmt, request)
    audit_access(audit.Action.FHIR_SEARCH, client, "QuestionnaireResponse", detail={
        "params": sorted(request.params), "results": page.total,
        "patient_ids": sorted({r.patient_id for r in page.rows if r.patient_id})})
    found = Found([mapping.response_to_fhir(r, services.response_content(r)) for r in page.rows],
                  page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _conditions(client: ApiClient, request: SearchRequest) -> list[Any]:
    conditions: list[Any] = []
    if (ids := request.one("_id")) is not None:
        conditions.append(QuestionnaireResponse.id.in_(parse_ids(ids)))
    for name in ("patient", "subject"):
        if (value := request.one(name)) is not None:
            patient_id = parse_reference(name, value, "Patient")
            conditions.append(false() if patient_id is None
                              else QuestionnaireResponse.patient_id == patient_id)
    if (value := request.one("questionnaire")) is not None:
        conditions.append(_questionnaire_condition(client, value))
    if (status := request.one("status")) is not None:
        conditions.append(QuestionnaireResponse.status == status)
    for name, column in (("authored", QuestionnaireResponse.authored_at),
                         ("_lastUpdated", QuestionnaireResponse.updated_at)):
        if name in request.params:
            conditions += instant_conditions(name, request.params[name], column,
                                             zone=practice_zone(client.practice_id))
    return conditions


def _questionnaire_condition(client: ApiClient, value: str) -> Any:
    """Responses that name ``value`` as given, or that are linked to the questionnaire it
    names (so ``Questionnaire/7`` also finds responses that gave its canonical url)."""
    held = services.find_questionnaire(practice_id=client.practice_id, reference=value)
    named = QuestionnaireResponse.questionnaire_ref == value
    if held is None:
        return named
    if value.startswith("Questionnaire/") or "|" in value:
        return or_(named, QuestionnaireResponse.questionnaire_id == held.id)
    every_version = select(Questionnaire.id).where(
        Questionnaire.practice_id == client.practice_id, Questionnaire.url == value)
    return or_(named, QuestionnaireResponse.questionnaire_id.in_(every_version))


def create(*, client: ApiClient, body: Any) -> FhirQuestionnaireResponse:
    content = mapping.stored_json(validated(FhirQuestionnaireResponse, body))
    try:
        response = services.create_response(practice_id=client.practice_id, content=content,
                                            source="fhir", actor=client)
    except services.IntakeInputError as error:
        raise mapping.refused("QuestionnaireResponse", error) from None
    db.session.commit()
    return mapping.response_to_fhir(response, content)


def update(*, client: ApiClient, resource_id: str, body: Any,
           if_match: str | None) -> FhirQuestionnaireResponse:
    resource = validated(FhirQuestionnaireResponse, body)
    check_body_id(resource, resource_id)
    response = load_owned(QuestionnaireResponse, "QuestionnaireResponse", client, resource_id,
                          for_update=True)
    check_if_match(if_match, mapping.version(response))
    content = mapping.stored_json(resource)
    try:
        services.update_response(response=response, content=content, source="fhir",
                                 actor=client)
    except services.IntakeInputError as error:
        raise mapping.refused("QuestionnaireResponse", error) from None
    db.session.commit()
    return mapping.response_to_fhir(response, content)


HANDLER = ResourceHandler(
    resource_type="QuestionnaireResponse",
    documentation=(
        "Answers to forms, kept whole (but for id and meta) and encrypted. A subject "
        "Patient/<id> must be a patient of the practice; other subjects (e.g. a contained "
        "Patient) are kept without a patient link. When the questionnaire is one held here, "
        "each answered linkId must be one of its items, each answer of the item's type, and a "
        "completed response must answer the required items (those without enableWhen)."),
    search_params=SEARCH_PARAMS,
    read=read, search=search, create=create, update=update,
)
