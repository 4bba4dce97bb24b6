"""Message ↔ FHIR Communication: every message in and out is a Communication with the
message's id.

Served:

* ``status``: scheduled → preparation, sending → in-progress, sent / delivered / received →
  completed, undelivered / failed → stopped, cancelled / suppressed → not-done; for stopped
  and not-done, ``statusReason.text`` is our reason (the rule that suppressed it, the
  provider's error code). Reasons are stored in plain text and never hold PHI.
* ``medium``: v3-ParticipationMode SMSWRIT (sms) or EMAILWRIT (email); absent while the
  channel is still to be chosen at send time.
* ``subject``: the patient the message names. Outgoing: ``sender`` is the practice (a
  display: there is no Organization resource), ``recipient`` the patient (or the masked
  address). Incoming: ``sender`` is the patient (or the masked number), ``recipient`` the
  practice.
* ``sent``: outgoing when it was sent, incoming when it arrived; ``received``: incoming when
  it arrived, outgoing when the provider reported delivery.
* ``payload[0].contentString``: the text (a template message has none until it is rendered at
  send time); ``topic.text``: an email's subject line.
* ``category``: our purpose (system ``urn:frontdesk:message-purpose``); ``identifier``: the
  provider's message id (system ``urn:frontdesk:provider-message-id``); ``inResponseTo``: the
  message it answers.
* ``meta.versionId``: the row's ``updated_at`` in microseconds since the Unix epoch.

Read from a posted Communication (a message to send): ``status`` (preparation or
in-progress), ``subject`` (a Patient), ``medium``, ``payload[0].contentString``, ``topic.text``
(an email's subject), ``inResponseTo``, our ``category`` (conversation only); ``recipient``
may repeat the subject. Other elements are accepted and not stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir.resources.R4B.communication import Communication as FhirCommunication

from app.adapters.email.base import mask_email
from app.adapters.sms.base import mask_phone
from app.fhir.errors import InvalidResource
from app.messaging.models import Direction, Message, MessageStatus, Purpose
from app.patients.models import Patient

PURPOSE_SYSTEM = "urn:frontdesk:message-purpose"
PROVIDER_ID_SYSTEM = "urn:frontdesk:provider-message-id"
MEDIUM_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM_CODES = {"sms": "SMSWRIT", "email": "EMAILWRIT"}
CHANNEL_OF_MEDIUM = {code: channel for channel, code in MEDIUM_CODES.items()}
_MEDIUM_DISPLAY = {"sms": "SMS message", "email": "email"}

FHIR_STATUS = {
    MessageStatus.SCHEDULED: "preparation",
    MessageStatus.SENDING: "in-progress",
    MessageStatus.SENT: "completed",
    MessageStatus.DELIVERED: "completed",
    MessageStatus.RECEIVED: "completed",
    MessageStatus.UNDELIVERED: "stopped",
    MessageStatus.FAILED: "stopped",
    MessageStatus.CANCELLED: "not-done",
    MessageStatus.SUPPRESSED: "not-done",
}
# Every code of FHIR's EventStatus, so a search for one we never serve finds nothing (not 400).
EVENT_STATUSES = ("preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
                  "entered-in-error", "unknown")
CREATABLE_STATUSES = ("preparation", "in-progress")
STOP_STATUSES = ("stopped", "not-done")
_FALLBACK_REASON = {MessageStatus.CANCELLED: "cancelled", MessageStatus.SUPPRESSED:
                    "suppressed by the send-time rules", MessageStatus.FAILED: "failed",
                    MessageStatus.UNDELIVERED: "not delivered"}
_PATIENT_REF = re.compile(r"(?:^|/)Patient/(\d{1,9})$")
_COMMUNICATION_REF = re.compile(r"(?:^|/)Communication/(\d{1,9})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Refuse = Callable[[str, str], None]  # (element, reason): one problem of a posted resource


def version(message: Message) -> str:
    return str((message.updated_at - _EPOCH) // timedelta(microseconds=1))


def our_statuses(fhir_status: str) -> list[str]:
    """The message statuses served as ``fhir_status`` (none for a code we never serve)."""
    return [ours for ours, theirs in FHIR_STATUS.items() if theirs == fhir_status]


def masked_address(channel: str, address: str | None) -> str | None:
    if not address:
        return None
    return mask_phone(address) if channel == "sms" else mask_email(address)


def to_fhir(message: Message, *, practice_name: str, patient: Patient | None
            ) -> FhirCommunication:
    status = FHIR_STATUS.get(message.status, "unknown")
    patient_ref = ({"reference": f"Patient/{patient.id}", "display": patient.full_name}
                   if patient is not None else None)
    masked = masked_address(message.channel, message.address)
    counterpart = patient_ref or ({"display": masked} if masked else None)
    practice = {"display": practice_name}
    if message.direction == Direction.INBOUND:
        sender, recipient = counterpart, practice
        sent = received = message.created_at
    else:
        sender, recipient = practice, counterpart
        sent, received = message.sent_at, message.delivered_at
    data: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(message.id),
        "meta": {"versionId": version(message), "lastUpdated": message.updated_at.isoformat()},
        "identifier": [{"system": PROVIDER_ID_SYSTEM, "value": message.provider_message_id}]
        if message.provider_message_id else None,
        "inResponseTo": [{"reference": f"Communication/{message.in_reply_to_id}"}]
        if message.in_reply_to_id else None,
        "status": status,
        "statusReason": {"text": _status_reason(message)}
        if status in STOP_STATUSES else None,
        "category": [{"coding": [{"system": PURPOSE_SYSTEM, "code": message.purpose}],
                      "text": message.purpose}],
        "medium": [{"coding": [{"system": MEDIUM_SYSTEM, "code": MEDIUM_CODES[message.channel],
                                "display": _MEDIUM_DISPLAY[message.channel]}],
                    "text": message.channel}] if message.channel in MEDIUM_CODES else None,
        "subject": {"reference": f"Patient/{patient.id}"} if patient is not None else None,
        "topic": {"text": message.subject} if message.subject else None,
        "sent": sent.isoformat() if sent else None,
        "received": received.isoformat() if received else None,
        "recipient": [recipient] if recipient else None,
        "sender": sender,
        "payload": [{"contentString": message.body}] if message.body else None,
    }
    return FhirCommunication.model_validate({k: v for k, v in data.items() if v is not None})


def _status_reason(message: Message) -> str:
    parts = [message.status_reason] if message.status_reason else []
    if message.error_code:
        parts.append(f"provider error code {message.error_code}")
    return "; ".join(parts) or _FALLBACK_REASON.get(message.status, message.status)


@dataclass(frozen=True)
class OutgoingMessage:
    """A posted Communication read as a message to send; references not yet checked."""

    patient_id: int
    channel: str | None  # None: the patient's preferred channel
    body: str
    subject_line: str | None  # an email's subject
    in_reply_to_id: int | None


def outgoing_from_fhir(resource: FhirCommunication) -> OutgoingMessage:
    """Raises InvalidResource naming every element that does not describe a message we can
    send."""
    problems: list[tuple[str, str]] = []

    def refuse(expression: str, reason: str) -> None:
        problems.append((expression, f"{expression}: {reason}"))

    if resource.status not in CREATABLE_STATUSES:
        refuse("Communication.status",
               f"only messages to send can be created, with status 'preparation'; a "
               f"Communication that is '{resource.status}' records something that happened "
               "elsewhere, which Frontdesk does not store")
    patient_id = reference_id(resource.subject, _PATIENT_REF)
    if patient_id is None:
        refuse("Communication.subject", "the patient to write to is required, as "
                                        "'Patient/<id>' of one of this practice's patients")
    for index, recipient in enumerate(resource.recipient or []):
        recipient_id = reference_id(recipient, _PATIENT_REF)
        if recipient.reference and (recipient_id is None or recipient_id != patient_id):
            refuse(f"Communication.recipient[{index}]",
                   "the recipient is the subject patient: leave it out or repeat the subject")
    channel = _channel(resource, refuse)
    body = _body(resource, refuse)
    _check_category(resource, refuse)
    in_reply_to_id = None
    for index, earlier in enumerate(resource.inResponseTo or []):
        in_reply_to_id = reference_id(earlier, _COMMUNICATION_REF)
        if in_reply_to_id is None or index > 0:
            refuse(f"Communication.inResponseTo[{index}]",
                   "one 'Communication/<id>' of a message this practice received")
    if problems or patient_id is None:
        raise InvalidResource(problems)
    topic = (resource.topic.text or "").strip() if resource.topic else ""
    return OutgoingMessage(patient_id=patient_id, channel=channel, body=body,
                           subject_line=topic or None, in_reply_to_id=in_reply_to_id)


def reference_id(reference: Any, pattern: re.Pattern[str]) -> int | None:
    """The id in a Reference to one of our resources (``Patient/12`` or a URL ending so)."""
    found = pattern.search(reference.reference or "") if reference is not None else None
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def _channel(resource: FhirCommunication, refuse: Refuse) -> str | None:
    media = resource.medium or []
    if len(media) > 1:
        refuse("Communication.medium[1]", "a message goes by one medium")
    if not media:
        return None
    for coding in media[0].coding or []:
        if coding.system in (None, MEDIUM_SYSTEM) and coding.code in CHANNEL_OF_MEDIUM:
            return CHANNEL_OF_MEDIUM[coding.code]
    refuse("Communication.medium[0]",
           f"use SMSWRIT (a text) or EMAILWRIT (an email) from {MEDIUM_SYSTEM}, or leave it "
           "out for the patient's preferred channel")
    return None


def _body(resource: FhirCommunication, refuse: Refuse) -> str:
    payloads = resource.payload or []
    for index in range(1, len(payloads)):
        refuse(f"Communication.payload[{index}]",
               "one text is sent; attachments and references cannot be")
    text = (payloads[0].contentString or "").strip() if payloads else ""
    if not text:
        refuse("Communication.payload[0].contentString", "the text to send is required")
    return text


def _check_category(resource: FhirCommunication, refuse: Refuse) -> None:
    for index, concept in enumerate(resource.category or []):
        for coding in concept.coding or []:
            if coding.system == PURPOSE_SYSTEM and coding.code != Purpose.CONVERSATION:
                refuse(f"Communication.category[{index}]",
                       f"only '{Purpose.CONVERSATION}' messages are sent through the API "
                       "(reminders, billing and marketing messages are sent by Frontdesk "
                       "itself, under its consent rules)")


def edited_elements(posted: FhirCommunication, served: FhirCommunication) -> list[str]:
    """The elements of an update that change what the message says or to whom it goes.
    Elements left out of the update are not compared."""
    edited = []
    for name, read in (
        ("subject", lambda c: reference_id(c.subject, _PATIENT_REF)),
        ("medium", _medium_codes),
        ("payload", lambda c: [p.contentString for p in c.payload or []]),
        ("topic", lambda c: c.topic.text if c.topic else None),
        ("inResponseTo", lambda c: [reference_id(r, _COMMUNICATION_REF)
                                    for r in c.inResponseTo or []]),
    ):
        if getattr(posted, name) is not None and read(posted) != read(served):
            edited.append(f"Communication.{name}")
    return edited


def _medium_codes(resource: FhirCommunication) -> list[str | None]:
    return sorted(coding.code or "" for concept in resource.medium or []
                  for coding in concept.coding or []
                  if coding.system in (None, MEDIUM_SYSTEM))
