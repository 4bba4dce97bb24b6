"""Questionnaires (form definitions) and the responses patients give to them.

Both are kept as the resource JSON (FHIR Questionnaire / QuestionnaireResponse shape, without
id and meta), so these services take and return plain dicts in that shape; the columns beside
the JSON are derived from it for searches. A response to a questionnaire we hold is checked
against it: every answered linkId must be one of its items, each answer's value must be of
the item's type, and a ``completed`` response must answer the required items.

Problems are reported as ``IntakeInputError`` (``FieldErrors``) keyed by paths relative to the
resource (``item[0].answer[1]``), which the caller prefixes with the resource type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from app.core.errors import FieldErrors
from app.core.ids import row_id, split_reference
from app.core.types import EARLIEST, LATEST, utc_in_range
from app.extensions import db
from app.intake.models import Questionnaire, QuestionnaireResponse
from app.patients.models import Patient
from app.security import audit

QUESTIONNAIRE_STATUSES = ("draft", "active", "retired", "unknown")
RESPONSE_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
RESPONSE_SOURCES = ("fhir", "patient", "staff")

# Item type → the answer value[x] elements it takes (R4). Choices also take the value types of
# their answerOptions; group and display items take no answers.
ANSWER_TYPES: dict[str, tuple[str, ...]] = {
    "group": (), "display": (),
    "boolean": ("valueBoolean",), "decimal": ("valueDecimal",), "integer": ("valueInteger",),
    "date": ("valueDate",), "dateTime": ("valueDateTime",), "time": ("valueTime",),
    "string": ("valueString",), "text": ("valueString",), "url": ("valueUri",),
    "choice": ("valueCoding",), "open-choice": ("valueCoding", "valueString"),
    "attachment": ("valueAttachment",), "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
}
# Lengths of the searchable columns; longer values are refused rather than cut.
_COLUMN_LENGTHS = {"url": 255, "version": 40, "name": 120, "title": 255}
_QUESTIONNAIRE_REF_LENGTH = 255


class IntakeInputError(FieldErrors):
    """What is wrong with a questionnaire or response: ``errors`` maps the path of each
    element at fault (``status``, ``item[1].answer[0]``) to what is wrong there."""

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> IntakeInputError:
        """From (path, reason) pairs in the order found; reasons at one path are joined."""
        errors: dict[str, str] = {}
        for path, reason in problems:
            errors[path] = f"{errors[path]}; {reason}" if path in errors else reason
        return cls(errors)


# ---- questionnaires -------------------------------------------------------------------------


def create_questionnaire(*, practice_id: int, definition: dict[str, Any]) -> Questionnaire:
    questionnaire = Questionnaire(practice_id=practice_id)
    _store_definition(questionnaire, definition)
    db.session.add(questionnaire)
    db.session.flush()
    return questionnaire


def update_questionnaire(*, questionnaire: Questionnaire, definition: dict[str, Any]) -> None:
    _store_definition(questionnaire, definition)
    db.session.flush()


def questionnaire_definition(questionnaire: Questionnaire) -> dict[str, Any]:
    return json.loads(questionnaire.definition)


def _store_definition(questionnaire: Questionnaire, definition: dict[str, Any]) -> None:
    problems = _questionnaire_problems(definition)
    if problems:
        raise IntakeInputError.of(problems)
    for column in _COLUMN_LENGTHS:
        setattr(questionnaire, column, definition.get(column))
    questionnaire.status = definition["status"]
    questionnaire.definition = json.dumps(definition, ensure_ascii=False)


def _questionnaire_problems(definition: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if definition.get("status") not in QUESTIONNAIRE_STATUSES:
        problems.append(("status", f"must be one of {', '.join(QUESTIONNAIRE_STATUSES)}"))
    for column, length in _COLUMN_LENGTHS.items():
        value = definition.get(column)
        if isinstance(value, str) and len(value) > length:
            problems.append((column, f"may be at most {length} characters long"))
    seen: set[str] = set()
    for path, item in _questionnaire_items(definition.get("item", []), "item"):
        if item["type"] not in ANSWER_TYPES:
            problems.append((f"{path}.type", f"unknown item type {item['type']!r} (one of "
                                             f"{', '.join(ANSWER_TYPES)})"))
        if item["linkId"] in seen:
            problems.append((f"{path}.linkId", f"linkId {item['linkId']!r} is used twice; "
                                               "each item needs its own"))
        seen.add(item["linkId"])
    return problems


def _questionnaire_items(items: list[dict[str, Any]], path: str
                         ) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        yield item_path, item
        yield from _questionnaire_items(item.get("item", []), f"{item_path}.item")


def find_questionnaire(*, practice_id: int, reference: str) -> Questionnaire | None:
    """The questionnaire a response names: by canonical ``url`` or ``url|version`` (without a
    version, the newest one with that url), or by the local reference ``Questionnaire/<id>``."""
    kind, local_id = split_reference(reference)
    if kind == "Questionnaire" and reference.startswith("Questionnaire/"):
        return db.session.execute(select(Questionnaire).where(
            Questionnaire.practice_id == practice_id,
            Questionnaire.id == row_id(local_id))).scalar_one_or_none()
    url, _, version = reference.partition("|")
    stmt = select(Questionnaire).where(Questionnaire.practice_id == practice_id,
                                       Questionnaire.url == url)
    if version:
        stmt = stmt.where(Questionnaire.version == version)
    return db.session.execute(stmt.order_by(Questionnaire.id.desc()).limit(1)
                              ).scalar_one_or_none()


# ---- responses ------------------------------------------------------------------------------


def create_response(*, practice_id: int, content: dict[str, Any], source: str,
                    actor: Any = None) -> QuestionnaireResponse:
    """Store a response. Its patient is the subject ``Patient/<id>``, which must be one of
    the practice's patients; any other subject (a contained patient, a group) is kept in the
    JSON with no patient. ``actor`` is the audit actor (None: the signed-in staff member)."""
    if source not in RESPONSE_SOURCES:
        raise ValueError(f"unknown response source {source!r}")
    response = QuestionnaireResponse(practice_id=practice_id, source=source)
    _store_content(response, content)
    db.session.add(response)
    db.session.flush()
    audit.record(audit.Action.FORM_RESPONSE_CREATE, patient_id=response.patient_id,
                 object_type="questionnaire_response", object_id=response.id, actor=actor,
                 detail={"source": source, "questionnaire_id": response.questionnaire_id})
    return response


def update_response(*, response: QuestionnaireResponse, content: dict[str, Any],
                    source: str, actor: Any = None) -> None:
    """Replace a response's content. ``source`` says where this change came from (audited);
    the response keeps the source it was created from."""
    previous_patient_id = response.patient_id
    _store_content(response, content)
    db.session.flush()
    detail: dict[str, Any] = {"source": source, "questionnaire_id": response.questionnaire_id}
    if previous_patient_id != response.patient_id:
        detail["previous_patient_id"] = previous_patient_id
    audit.record(audit.Action.FORM_RESPONSE_UPDATE, patient_id=response.patient_id,
                 object_type="questionnaire_response", object_id=response.id, actor=actor,
                 detail=detail)


def read_response(*, response: QuestionnaireResponse, actor: Any = None) -> dict[str, Any]:
    """The response's JSON; reading it is audited (the answers are PHI)."""
    audit.record(audit.Action.FORM_VIEW, patient_id=response.patient_id,
                 object_type="questionnaire_response", object_id=response.id, actor=actor)
    return response_content(response)


def response_content(response: QuestionnaireResponse) -> dict[str, Any]:
    """The JSON without an audit record: for callers that audit the access themselves
    (a search records one event for the whole page)."""
    return json.loads(response.content)


def _store_content(response: QuestionnaireResponse, content: dict[str, Any]) -> None:
    problems: list[tuple[str, str]] = []
    status = content.get("status")
    if status not in RESPONSE_STATUSES:
        problems.append(("status", f"must be one of {', '.join(RESPONSE_STATUSES)}"))
    patient_id = _subject_patient_id(response.practice_id, content.get("subject"), problems)
    questionnaire = _referenced_questionnaire(response.practice_id,
                                              content.get("questionnaire"), problems)
    authored_at = _authored_at(content.get("authored"), problems)
    if questionnaire is not None:
        problems += answer_problems(questionnaire_definition(questionnaire), content)
    if problems:
        raise IntakeInputError.of(problems)
    response.patient_id = patient_id
    response.questionnaire_id = questionnaire.id if questionnaire else None
    response.questionnaire_ref = content.get("questionnaire")
    response.status = status
    response.authored_at = authored_at
    response.content = json.dumps(content, ensure_ascii=False)


def _subject_patient_id(practice_id: int, subject: dict[str, Any] | None,
                        problems: list[tuple[str, str]]) -> int | None:
    """The patient ``subject`` references (``Patient/5`` or a full URL ending in it, as FHIR
    searches read references); a Patient that is not this practice's is a problem."""
    reference = (subject or {}).get("reference") or ""
    kind, local_id = split_reference(reference)
    if kind != "Patient":
        return None
    patient_id = row_id(local_id)
    found = db.session.execute(select(Patient.id).where(
        Patient.id == patient_id, Patient.practice_id == practice_id)).scalar_one_or_none()
    if found is None:
        problems.append(("subject", f"{reference} is not a patient of this practice"))
    return found


def _referenced_questionnaire(practice_id: int, reference: str | None,
                              problems: list[tuple[str, str]]) -> Questionnaire | None:
    if reference is None:
        return None
    if len(reference) > _QUESTIONNAIRE_REF_LENGTH:
        problems.append(("questionnaire",
                         f"may be at most {_QUESTIONNAIRE_REF_LENGTH} characters long"))
        return None
    questionnaire = find_questionnaire(practice_id=practice_id, reference=reference)
    if questionnaire is None and reference.startswith("Questionnaire/"):
        problems.append(("questionnaire", f"{reference} is not a questionnaire of this "
                                          "practice"))
    return questionnaire


def _authored_at(authored: str | None, problems: list[tuple[str, str]]) -> datetime | None:
    """FHIR dateTime → UTC; a partial date (``2013``, ``2013-06``, ``2013-06-18``) is the
    start of that period in UTC."""
    if authored is None:
        return None
    try:
        if len(authored) <= 10:
            parts = [int(part) for part in authored.split("-")] + [1, 1]
            day = date(parts[0], parts[1], parts[2])
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(authored.replace("Z", "+00:00"))
    except ValueError:
        problems.append(("authored", f"{authored!r} is not a date and time we can read"))
        return None
    if moment.tzinfo is None:
        problems.append(("authored", "a time needs a time zone (e.g. Z or -05:00)"))
        return None
    utc = utc_in_range(moment)
    if utc is None:
        problems.append(("authored", f"must lie between {EARLIEST.year} and "
                                     f"{LATEST.year - 1}"))
    return utc


# ---- checking answers against the questionnaire ---------------------------------------------


def _value_types(definition: dict[str, Any]) -> tuple[str, ...]:
    """The answer value[x] elements an item takes."""
    types = ANSWER_TYPES.get(definition["type"], ())
    if definition["type"] in ("choice", "open-choice"):
        types += tuple(key for option in definition.get("answerOption", [])
                       for key in option if key.startswith("value"))
    return types


def answer_problems(definition: dict[str, Any], content: dict[str, Any]
                    ) -> list[tuple[str, str]]:
    """Where a response does not fit its questionnaire: unknown or misplaced linkIds, answers
    of the wrong type, several answers to a question that does not repeat, and (when the
    response is ``completed``) required items left out. Required items that depend on an
    ``enableWhen`` are not enforced: whether they apply depends on other answers."""
    top = {item["linkId"]: item for item in definition.get("item", [])}
    problems: list[tuple[str, str]] = []
    _check_items(content.get("item", []), top, "item", problems)
    if content.get("status") == "completed":
        _check_required(content.get("item", []), top, "item", problems)
    return problems


def _children(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {child["linkId"]: child for child in item.get("item", [])}


def _check_items(items: list[dict[str, Any]], allowed: dict[str, dict[str, Any]], path: str,
                 problems: list[tuple[str, str]]) -> None:
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        link_id = item["linkId"]
        definition = allowed.get(link_id)
        if definition is None:
            problems.append((f"{item_path}.linkId", f"linkId {link_id!r} is not an item of "
                                                    "the questionnaire at this place"))
            continue
        value_types = _value_types(definition)
        answers = item.get("answer", [])
        if answers and not value_types:
            problems.append((f"{item_path}.answer[0]", f"item {link_id!r} is a "
                                                       f"{definition['type']} and takes no "
                                                       "answer"))
        elif len(answers) > 1 and not definition.get("repeats"):
            problems.append((f"{item_path}.answer[1]", f"item {link_id!r} takes one answer "
                                                       "(it does not repeat)"))
        children = _children(definition)
        for number, answer in enumerate(answers):
            answer_path = f"{item_path}.answer[{number}]"
            given = [key for key in answer if key.startswith("value")]
            if value_types and given and given[0] not in value_types:
                problems.append((answer_path, f"item {link_id!r} is a {definition['type']}: "
                                              f"its answer must be {' or '.join(value_types)}"
                                              f", not {given[0]}"))
            _check_items(answer.get("item", []), children, f"{answer_path}.item", problems)
        _check_items(item.get("item", []), children, f"{item_path}.item", problems)


def _check_required(items: list[dict[str, Any]], definitions: dict[str, dict[str, Any]],
                    where: str, problems: list[tuple[str, str]]) -> None:
    """Each required item of ``definitions`` (one level) must be among ``items`` (the
    response's items at ``where``) — answered, if it is a question; then the same for the
    children of each item given."""
    for link_id, definition in definitions.items():
        if not definition.get("required") or definition.get("enableWhen"):
            continue
        given = [item for item in items if item["linkId"] == link_id]
        answered = any(item.get("answer") for item in given)
        if not given or (_value_types(definition) and not answered):
            problems.append((where, f"the required item {link_id!r} is not answered"))
    for index, item in enumerate(items):
        definition = definitions.get(item["linkId"])
        if definition is None:
            continue
        nested = item.get("item", []) + [child for answer in item.get("answer", [])
                                         for child in answer.get("item", [])]
        _check_required(nested, _children(definition), f"{where}[{index}].item", problems)
