"""Questionnaire and QuestionnaireResponse ↔ the forms records.

Both resources are kept whole, as their JSON without ``id`` and ``meta`` (the server's to
set), so a resource reads back as it was written. ``meta.versionId`` is derived from the
record's ``updated_at`` (microseconds since the Unix epoch), as for Patient.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)

from app.fhir.errors import InvalidResource
from app.intake.models import Questionnaire, QuestionnaireResponse
from app.intake.services import IntakeInputError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version(row: Questionnaire | QuestionnaireResponse) -> str:
    return str((row.updated_at - _EPOCH) // timedelta(microseconds=1))


def stored_json(resource: FhirQuestionnaire | FhirQuestionnaireResponse) -> dict[str, Any]:
    """What we keep of a validated resource: all of it but ``id`` and ``meta``."""
    return resource.model_dump(mode="json", exclude_none=True, exclude={"id", "meta"})


def _served(model: Any, row: Questionnaire | QuestionnaireResponse, data: dict[str, Any]
            ) -> Any:
    return model.model_validate({
        **data, "id": str(row.id),
        "meta": {"versionId": version(row), "lastUpdated": row.updated_at.isoformat()}})


def questionnaire_to_fhir(row: Questionnaire, definition: dict[str, Any]) -> FhirQuestionnaire:
    return _served(FhirQuestionnaire, row, definition)


def response_to_fhir(row: QuestionnaireResponse, content: dict[str, Any]
                     ) -> FhirQuestionnaireResponse:
    return _served(FhirQuestionnaireResponse, row, content)


def refused(resource_type: str, error: IntakeInputError) -> InvalidResource:
    """The intake services' problems, each named as an element of the resource."""
    return InvalidResource([(f"{resource_type}.{path}", f"{resource_type}.{path}: {reason}")
                            for path, reason in error.errors.items()])
