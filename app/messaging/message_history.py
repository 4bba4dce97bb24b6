"""A patient's message log: every message in and out, newest first, for the staff record page.

A message belongs to the log when it names the patient or travels in a conversation the
patient is linked to (a household's shared phone, an inbound text from a number several
patients share). Times are shown in the zone of the location the patient visits. Reading the
log is an access to the patient's messages, so every page read is audited. Each row lists its
files (an MMS picture, a file attached to an email): opening one goes through the inbox's
audited download (``inbox_panel.media_file``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Select, or_, select

from app.core import phones
from app.core.paging import MAX_PAGE
from app.extensions import db
from app.messaging.inbound import LIKELY_OPT_OUT
from app.messaging.models import (
    Direction,
    Message,
    MessageMedia,
    Purpose,
    conversation_patient,
)
from app.messaging.policy import patient_timezone
from app.patients.models import Patient
from app.patients.queries import PatientNotFound
from app.practice.models import Practice
from app.security import audit
from app.security.permissions import Permission, role_can

PAGE_SIZE = 25
BILLING_ONLY = (Purpose.BILLING,)  # what a role without ``messages.all`` reads


@dataclass(frozen=True)
class LogFile:
    id: int  # a MessageMedia id
    filename: str | None  # an email attachment's name; None for an MMS picture
    size: int
    stored: bool  # False: a picture not fetched from the provider (yet)


@dataclass(frozen=True)
class LogRow:
    id: int
    direction: str
    channel: str
    purpose: str
    at: datetime  # sent (or due, or received), in the patient's zone
    status: str
    status_reason: str | None
    error_code: str | None
    provider_message_id: str | None
    address: str  # for display: a phone in national format, an email as is
    subject: str | None
    body: str | None
    template: str | None
    files: list[LogFile] = field(default_factory=list)

    @property
    def likely_opt_out(self) -> bool:
        return self.direction == Direction.INBOUND and self.status_reason == LIKELY_OPT_OUT


@dataclass(frozen=True)
class LogPage:
    patient_id: int
    patient_name: str
    rows: list[LogRow]
    page: int
    has_more: bool
    flagged: list[LogRow]  # likely opt-outs still waiting for staff, on any page


def readable_purposes(role: str) -> tuple[str, ...] | None:
    """The message purposes ``role`` may read on a record: all (None) with
    ``messages.all``, else billing messages only."""
    return None if role_can(role, Permission.MESSAGES_ALL) else BILLING_ONLY


def display_address(channel: str, address: str | None) -> str:
    if not address:
        return ""
    if channel != "sms":
        return address
    try:
        return phones.display(address)
    except phonenumbers.NumberParseException:
        return address  # a short code or an alphanumeric sender


def patient_messages(*, practice_id: int, patient_id: int,
                     purposes: Collection[str] | None = None) -> Select[tuple[Message]]:
    """Every message for the patient: addressed to them or in one of their conversations;
    only those sent for ``purposes`` when given."""
    conversation_ids = select(conversation_patient.c.conversation_id).where(
        conversation_patient.c.patient_id == patient_id)
    query = select(Message).where(
        Message.practice_id == practice_id,
        or_(Message.patient_id == patient_id, Message.conversation_id.in_(conversation_ids)))
    return query if purposes is None else query.where(Message.purpose.in_(purposes))


def message_log(*, practice_id: int, patient_id: int, page: int = 1,
                purposes: Collection[str] | None = None) -> LogPage:
    """One page (``PAGE_SIZE`` rows) of the patient's log, newest first, only messages sent
    for ``purposes`` when given (a billing clerk's: ``BILLING_ONLY``; the texts that may ask us
    to stop, ``flagged``, whatever their purpose); audited and committed.
    Raises PatientNotFound, or ValueError for a page outside 1..``MAX_PAGE``."""
    if not 1 <= page <= MAX_PAGE:
        raise ValueError(f"page: use a whole number from 1 to {MAX_PAGE}")
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise PatientNotFound(patient_id)
    zone = ZoneInfo(patient_timezone(patient, db.session.get_one(Practice, practice_id)))
    messages = patient_messages(practice_id=practice_id, patient_id=patient_id,
                                purposes=purposes)
    found = list(db.session.execute(
        messages.order_by(Message.created_at.desc(), Message.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).scalars())
    # A text that may ask us to stop texting is about consent, which every reader needs.
    flagged = db.session.execute(
        patient_messages(practice_id=practice_id, patient_id=patient_id)
        .where(Message.direction == Direction.INBOUND,
                       Message.status_reason == LIKELY_OPT_OUT)
        .order_by(Message.id.desc())).scalars()
    shown = found[:PAGE_SIZE]
    files = _files([m.id for m in shown])
    result = LogPage(patient_id=patient_id, patient_name=patient.full_name,
                     rows=[_row(m, zone, files.get(m.id, [])) for m in shown], page=page,
                     has_more=len(found) > PAGE_SIZE, flagged=[_row(m, zone) for m in flagged])
    audit.record(audit.Action.CONVERSATION_VIEW, patient_id=patient_id, object_type="patient",
                 object_id=patient_id,
                 detail={"page": page, "message_ids": sorted(
                     {row.id for row in result.rows + result.flagged})})
    db.session.commit()
    return result


def _files(message_ids: list[int]) -> dict[int, list[LogFile]]:
    """Each message's files in order, in one query for the page."""
    files: dict[int, list[LogFile]] = {}
    for media_id, message_id, filename, size, stored in db.session.execute(
            select(MessageMedia.id, MessageMedia.message_id, MessageMedia.filename,
                   MessageMedia.size, MessageMedia.content.is_not(None))
            .where(MessageMedia.message_id.in_(message_ids or [-1]))
            .order_by(MessageMedia.message_id, MessageMedia.position)):
        files.setdefault(message_id, []).append(LogFile(media_id, filename, size or 0, stored))
    return files


def _row(message: Message, zone: ZoneInfo, files: list[LogFile] | None = None) -> LogRow:
    if message.direction == Direction.INBOUND:
        at = message.created_at
    else:
        at = message.sent_at or message.send_at or message.created_at
    return LogRow(id=message.id, direction=message.direction, channel=message.channel,
                  purpose=message.purpose, at=at.astimezone(zone), status=message.status,
                  status_reason=message.status_reason, error_code=message.error_code,
                  provider_message_id=message.provider_message_id,
                  address=display_address(message.channel, message.address),
                  subject=message.subject, body=message.body, template=message.template,
                  files=files or [])
