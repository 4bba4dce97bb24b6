"""FHIR Communication: every message in and out (read, search); a message to one of our
patients (create), queued through the outbox exactly like a staff-written text and sent by
the worker under the same send-time rules (consent, quiet hours, usable contact points);
and stopping a message that has not been sent yet (update). Nothing else about a message can
be changed: what was sent was sent.

``sent`` searches one instant per message: when an outgoing message was sent, or, for an
incoming one and for one not sent yet, when the row was created (arrived or queued).
``received`` is when an incoming message arrived, or when an outgoing one was reported
delivered. Results are newest first by that ``sent`` instant.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fhir.resources.R4B.communication import Communication as FhirCommunication
from sqlalchemy import ColumnElement, case, false, func, or_, select, type_coerce

from app.core.types import UTCDateTime
from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError
from app.fhir.mapping import communication as mapping
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    instant_conditions,
    parse_ids,
    parse_reference,
    parse_token,
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
from app.messaging import outbox
from app.messaging.message_history import patient_messages
from app.messaging.models import Direction, Message, Purpose
from app.patients.models import Patient
from app.practice.models import Practice
from app.security import audit

# Twilio's limit for one SMS body (as the staff text box); an email may be longer.
MAX_BODY_LENGTH = {"sms": 1600, "email": 10_000}
CANCEL_REASON = "cancelled through the FHIR API"
SENT_AT = func.coalesce(Message.sent_at, Message.created_at)
RECEIVED_AT = type_coerce(case((Message.direction == Direction.INBOUND, Message.created_at),
                               else_=Message.delivered_at), UTCDateTime)

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id (the message number); several separated by commas."),
    SearchParam("patient", "reference",
                "Patient/<id>: every message addressed to the patient or travelling in one of "
                "their conversations (a household's shared phone), as the staff message log "
                "shows them."),
    SearchParam("subject", "reference", "The same as patient."),
    SearchParam("sent", "date",
                "When an outgoing message was sent; for an incoming one, or one not sent yet, "
                "when it arrived or was queued: eq, gt, ge, lt, le."),
    SearchParam("received", "date", "When an incoming message arrived or an outgoing one was "
                                    "reported delivered: eq, gt, ge, lt, le."),
    SearchParam("status", "token", "FHIR status: preparation, in-progress, completed, "
                                   "stopped, not-done (several separated by commas)."),
    SearchParam("medium", "token", f"SMSWRIT or EMAILWRIT (system {mapping.MEDIUM_SYSTEM}), "
                                   "or sms / email."),
    SearchParam("category", "token", f"Our purpose (system {mapping.PURPOSE_SYSTEM}): "
                                     f"{', '.join(Purpose)}."),
    SearchParam("_lastUpdated", "date", "When the message last changed: eq, gt, ge, lt, le."),
)


def served(client: ApiClient, messages: Sequence[Message]) -> list[FhirCommunication]:
    practice_name = db.session.get_one(Practice, client.practice_id).name
    patient_ids = {m.patient_id for m in messages if m.patient_id is not None}
    patients = {p.id: p for p in db.session.execute(
        select(Patient).where(Patient.id.in_(patient_ids))).scalars()} if patient_ids else {}
    return [mapping.to_fhir(m, practice_name=practice_name,
                            patient=patients.get(m.patient_id) if m.patient_id else None)
            for m in messages]


def read(*, client: ApiClient, resource_id: str) -> FhirCommunication:
    message = load_owned(Message, "Communication", client, resource_id)
    audit_access(audit.Action.FHIR_READ, client, "Communication", object_id=message.id,
                 patient_id=message.patient_id)
    db.session.commit()
    return served(client, [message])[0]


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    patient_id = _searched_patient(request)
    conditions = [Message.practice_id == client.practice_id, *_conditions(client, request)]
    stmt = select(Message).where(*conditions).order_by(SENT_AT.desc(), Message.id.desc())
    page = run_page(stmt, request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Communication", patient_id=patient_id,
                 detail={"params": sorted(request.params), "results": page.total,
                         "message_ids": [m.id for m in page.rows],
                         "patient_ids": sorted({m.patient_id for m in page.rows
                                                if m.patient_id})})
    found = Found(served(client, page.rows), page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _searched_patient(request: SearchRequest) -> int | None:
    ids = {parse_reference(name, value, "Patient") for name in ("patient", "subject")
           if (value := request.one(name)) is not None}
    return next(iter(ids)) if len(ids) == 1 else None


def _conditions(client: ApiClient, request: SearchRequest) -> list[Any]:
    conditions: list[Any] = []
    if (ids := request.one("_id")) is not None:
        conditions.append(Message.id.in_(parse_ids(ids)))
    for name in ("patient", "subject"):
        if (value := request.one(name)) is not None:
            patient_id = parse_reference(name, value, "Patient")
            conditions.append(false() if patient_id is None else Message.id.in_(
                patient_messages(practice_id=client.practice_id, patient_id=patient_id)
                .with_only_columns(Message.id)))
    for name, column in (("sent", SENT_AT), ("received", RECEIVED_AT),
                         ("_lastUpdated", Message.updated_at)):
        if name in request.params:
            conditions += instant_conditions(name, request.params[name], column,
                                             zone=practice_zone(client.practice_id))
    if (value := request.one("status")) is not None:
        conditions.append(_any_of("status", value, _status_condition))
    if (value := request.one("medium")) is not None:
        conditions.append(_any_of("medium", value, _medium_condition))
    if (value := request.one("category")) is not None:
        conditions.append(_any_of("category", value, _category_condition))
    return conditions


def _any_of(name: str, value: str, condition: Callable[[str, str | None, str], Any]) -> Any:
    """A token parameter with comma-separated alternatives: any of them matches."""
    return or_(*(condition(name, *parse_token(part.strip())) for part in value.split(",")))


def _status_condition(name: str, system: str | None, code: str) -> ColumnElement[bool]:
    if code not in mapping.EVENT_STATUSES:
        raise FhirError(400, f"'{name}' must be one of {', '.join(mapping.EVENT_STATUSES)}, "
                             f"not {code!r}.", expression=name)
    ours = mapping.our_statuses(code)
    return Message.status.in_(ours) if ours else false()


def _medium_condition(name: str, system: str | None, code: str) -> ColumnElement[bool]:
    channel = mapping.CHANNEL_OF_MEDIUM.get(code) if system in (
        None, "", mapping.MEDIUM_SYSTEM) else None
    if channel is None and system is None and code in mapping.MEDIUM_CODES:
        channel = code
    if channel is None:
        raise FhirError(400, f"'{name}' must be SMSWRIT or EMAILWRIT (system "
                             f"{mapping.MEDIUM_SYSTEM}), or sms or email; not {code!r}.",
                        expression=name)
    return Message.channel == channel


def _category_condition(name: str, system: str | None, code: str) -> ColumnElement[bool]:
    if system not in (None, "", mapping.PURPOSE_SYSTEM):
        return false()
    if code not in list(Purpose):
        raise FhirError(400, f"'{name}' must be one of {', '.join(Purpose)}, not {code!r}.",
                        expression=name)
    return Message.purpose == code


def create(*, client: ApiClient, body: Any) -> FhirCommunication:
    wanted = mapping.outgoing_from_fhir(validated(FhirCommunication, body))
    patient = db.session.get(Patient, wanted.patient_id)
    if patient is None or patient.practice_id != client.practice_id:
        raise FhirError(400, f"Communication.subject: Patient/{wanted.patient_id} is not a "
                             "patient of this practice.", expression="Communication.subject")
    channel = wanted.channel or patient.preferred_channel
    if not (patient.mobile_phone if channel == "sms" else patient.email):
        missing = "mobile phone" if channel == "sms" else "email address"
        raise FhirError(400, f"Communication.medium: Patient/{patient.id} has no {missing} on "
                             "file to send this to.", expression="Communication.medium")
    if len(wanted.body) > MAX_BODY_LENGTH[channel]:
        raise FhirError(400, f"Communication.payload[0].contentString: at most "
                             f"{MAX_BODY_LENGTH[channel]} characters for {channel}.",
                        expression="Communication.payload[0].contentString")
    conversation_id = None
    if wanted.in_reply_to_id is not None:
        conversation_id = _answered(client, patient, wanted.in_reply_to_id).conversation_id
    subject_line = None
    if channel == "email":
        subject_line = wanted.subject_line or db.session.get_one(
            Practice, client.practice_id).name
    message = outbox.enqueue(
        practice_id=client.practice_id, purpose=Purpose.CONVERSATION, patient_id=patient.id,
        channel=channel, body=wanted.body, subject=subject_line,
        in_reply_to_id=wanted.in_reply_to_id, conversation_id=conversation_id,
        idempotency_key=f"fhir:{client.id}:{uuid.uuid4().hex}")
    audit_access(audit.Action.FHIR_CREATE, client, "Communication", object_id=message.id,
                 patient_id=patient.id)
    db.session.commit()
    return served(client, [message])[0]


def _answered(client: ApiClient, patient: Patient, message_id: int) -> Message:
    """The message a new one answers: it must be in the patient's message log."""
    earlier = db.session.execute(
        patient_messages(practice_id=client.practice_id, patient_id=patient.id)
        .where(Message.id == message_id)).scalar_one_or_none()
    if earlier is None:
        raise FhirError(400, f"Communication.inResponseTo[0]: Communication/{message_id} is "
                             f"not a message of Patient/{patient.id}.",
                        expression="Communication.inResponseTo[0]")
    return earlier


def update(*, client: ApiClient, resource_id: str, body: Any,
           if_match: str | None) -> FhirCommunication:
    """Stop a message that has not been sent yet (status not-done or stopped); anything
    else is a 409, since a message cannot be edited."""
    resource = validated(FhirCommunication, body)
    check_body_id(resource, resource_id)
    message = load_owned(Message, "Communication", client, resource_id, for_update=True)
    check_if_match(if_match, mapping.version(message))
    current = served(client, [message])[0]
    edited = mapping.edited_elements(resource, current)
    if edited:
        raise FhirError(409, f"A message cannot be edited ({', '.join(edited)} differ from "
                             f"Communication/{message.id}); the only change possible is to stop "
                             "a message that has not been sent yet, with status 'not-done'.",
                        expression=edited[0])
    stopping = resource.status in mapping.STOP_STATUSES
    already = resource.status == current.status or (
        stopping and current.status in mapping.STOP_STATUSES)
    if not already:
        if not stopping or current.status != "preparation":
            raise FhirError(409, _refusal(message.id, current.status),
                            expression="Communication.status")
        if not outbox.cancel_message(practice_id=client.practice_id, message_id=message.id,
                                     reason=CANCEL_REASON):
            raise FhirError(409, f"Communication/{message.id} is being sent right now and can "
                                 "no longer be stopped.", expression="Communication.status")
    audit_access(audit.Action.FHIR_UPDATE, client, "Communication", object_id=message.id,
                 patient_id=message.patient_id,
                 detail={"fields": [] if already else ["status"]})
    db.session.commit()
    return served(client, [message])[0]


def _refusal(message_id: int, status: str) -> str:
    if status == "preparation":
        return ("A message cannot be edited; a message that has not been sent yet can only be "
                "stopped, with status 'not-done'.")
    return (f"Communication/{message_id} is '{status}': a message cannot be edited, and only "
            "one that has not been sent yet (status 'preparation') can be stopped.")


HANDLER = ResourceHandler(
    resource_type="Communication",
    documentation=(
        "Every message in and out, with the message's id. Create queues a text or email to "
        "one of the practice's patients (status preparation, subject Patient/<id>, "
        "payload[0].contentString, medium SMSWRIT or EMAILWRIT, else the patient's preferred "
        "channel); it is sent under the same consent and quiet-hour rules as every message. "
        "Update only stops a message not sent yet (status not-done); a message cannot be "
        "edited."),
    search_params=SEARCH_PARAMS,
    read=read, search=search, create=create, update=update,
)
