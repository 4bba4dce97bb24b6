"""One conversation as staff read it: texts and emails of its contact point and of its patients
merged in time order (automated reminders included, so staff see what the patient answers),
the internal notes among them, delivery states, MMS pictures and the files attached to
staff emails.

Opening it marks it read for that staff member and is audited once per patient it shows, with
the message ids shown; a refresh (the thread's live update) is audited again only when it
shows a message the staff member had not seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.extensions import db
from app.inbox.models import ConversationNote
from app.inbox.queries import conversation_status
from app.messaging import consent
from app.messaging.message_history import display_address
from app.messaging.models import (
    Conversation,
    ConversationRead,
    Direction,
    Message,
    MessageMedia,
    MessageStatus,
    Purpose,
    conversation_patient,
)
from app.messaging.policy import patient_timezone
from app.patients.models import Patient
from app.practice.models import Practice
from app.security import audit
from app.security.models import StaffUser

THREAD_LIMIT = 150  # the latest messages shown; the record's message log has every one


class ConversationNotFound(LookupError):
    """No conversation with that id in this practice."""


@dataclass(frozen=True)
class AttachedFile:
    id: int  # a MessageMedia id: downloaded at inbox_panel.media_file
    filename: str
    size: int


@dataclass(frozen=True)
class Item:
    kind: str  # message | note
    id: int
    at: datetime  # in the thread's zone
    direction: str  # inbound | outbound | note
    channel: str
    body: str
    subject: str | None = None
    status: str | None = None
    status_reason: str | None = None
    error_code: str | None = None
    automated: bool = False
    author: str | None = None
    needs_action: bool = False
    suggested_action: str | None = None  # what a reply likely asks (journeys.understanding)
    media_ids: list[int] = field(default_factory=list)
    media_waiting: list[str] = field(default_factory=list)  # not fetched yet: the reason
    files: list[AttachedFile] = field(default_factory=list)  # attached to a staff email
    cancellable: bool = False


@dataclass(frozen=True)
class PatientBrief:
    id: int
    name: str
    given_name: str
    date_of_birth: object


@dataclass
class Thread:
    id: int
    channel: str
    contact: str
    contact_index: str
    status: str
    snoozed_until: datetime | None
    assigned_staff_id: int | None
    assigned_staff: str | None
    assigned_team: str | None
    patients: list[PatientBrief]
    items: list[Item]
    zone: str
    opted_out: str | None  # what stopped texts (keyword, carrier, staff), None while allowed
    latest_message_id: int
    truncated: bool


def get_conversation(practice_id: int, conversation_id: int) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or conversation.practice_id != practice_id:
        raise ConversationNotFound(conversation_id)
    return conversation


def linked_patients(conversation_id: int) -> list[Patient]:
    return list(db.session.execute(
        select(Patient).join(conversation_patient,
                             conversation_patient.c.patient_id == Patient.id)
        .where(conversation_patient.c.conversation_id == conversation_id)
        .order_by(Patient.id)).scalars())


def open_thread(*, practice_id: int, conversation_id: int, staff_id: int,
                seen_message_id: int | None = None) -> Thread:
    """The thread, marked read for ``staff_id``; audited (see the module) and committed.
    ``seen_message_id``: the latest message the staff member's page already shows (a live
    refresh), so an unchanged thread is not audited again."""
    conversation = get_conversation(practice_id, conversation_id)
    patients = linked_patients(conversation.id)
    practice = db.session.get_one(Practice, practice_id)
    zone = patient_timezone(patients[0] if patients else None, practice)
    messages = _messages(conversation, [p.id for p in patients])
    items = _items(messages, conversation.id, ZoneInfo(zone))
    latest = max((m.id for m in messages), default=0)
    thread = Thread(
        id=conversation.id, channel=conversation.channel,
        contact=display_address(conversation.channel, conversation.contact),
        contact_index=conversation.contact_index,
        status=conversation_status(conversation, utcnow()),
        snoozed_until=conversation.snoozed_until,
        assigned_staff_id=conversation.assigned_staff_id,
        assigned_staff=_staff_name(conversation.assigned_staff_id),
        assigned_team=conversation.assigned_team,
        patients=[PatientBrief(p.id, p.full_name, p.given_name, p.date_of_birth)
                  for p in patients],
        items=items, zone=zone, opted_out=_opted_out(conversation),
        latest_message_id=latest, truncated=len(messages) >= THREAD_LIMIT)
    mark_read(practice_id=practice_id, conversation=conversation, staff_id=staff_id)
    if seen_message_id is None or latest > seen_message_id:
        for patient in patients:
            audit.record(audit.Action.CONVERSATION_VIEW, patient_id=patient.id,
                         object_type="conversation", object_id=conversation.id,
                         detail={"message_ids": sorted(m.id for m in messages),
                                 "patient_ids": [p.id for p in patients]})
    db.session.commit()
    return thread


def mark_read(*, practice_id: int, conversation: Conversation, staff_id: int) -> None:
    """This staff member has read everything in it now (in the caller's transaction)."""
    now = utcnow()
    created = insert_unless_exists(ConversationRead, {
        "conversation_id": conversation.id, "staff_id": staff_id, "practice_id": practice_id,
        "read_at": now}, unique_on=["conversation_id", "staff_id"])
    if created is None:
        db.session.execute(ConversationRead.__table__.update().where(
            ConversationRead.conversation_id == conversation.id,
            ConversationRead.staff_id == staff_id).values(read_at=now))
    conversation.unread = False


def _messages(conversation: Conversation, patient_ids: list[int]) -> list[Message]:
    mine = Message.conversation_id == conversation.id
    theirs = Message.patient_id.in_(patient_ids) if patient_ids else None
    stmt = select(Message).where(Message.practice_id == conversation.practice_id,
                                 or_(mine, theirs) if theirs is not None else mine,
                                 Message.status != MessageStatus.CANCELLED)
    latest = list(db.session.execute(
        stmt.order_by(Message.created_at.desc(), Message.id.desc()).limit(THREAD_LIMIT))
        .scalars())
    return latest[::-1]


def _when(message: Message) -> datetime:
    if message.direction == Direction.INBOUND:
        return message.created_at
    return message.sent_at or message.send_at or message.created_at


def _items(messages: list[Message], conversation_id: int, zone: ZoneInfo) -> list[Item]:
    media: dict[int, list[int]] = {}
    waiting: dict[int, list[str]] = {}
    files: dict[int, list[AttachedFile]] = {}
    for media_id, message_id, stored, error, filename, size in db.session.execute(
            select(MessageMedia.id, MessageMedia.message_id, MessageMedia.content.is_not(None),
                   MessageMedia.fetch_error, MessageMedia.filename, MessageMedia.size)
            .where(MessageMedia.message_id.in_([m.id for m in messages] or [-1]))
            .order_by(MessageMedia.position)):
        if filename is not None:
            files.setdefault(message_id, []).append(AttachedFile(media_id, filename, size or 0))
        elif stored:
            media.setdefault(message_id, []).append(media_id)
        else:
            waiting.setdefault(message_id, []).append(error or "")
    items = [Item(kind="message", id=m.id, at=_when(m).astimezone(zone), direction=m.direction,
                  channel=m.channel, body=m.body or "", subject=m.subject, status=m.status,
                  status_reason=m.status_reason, error_code=m.error_code,
                  automated=m.direction == Direction.OUTBOUND and (
                      m.template is not None or m.purpose != Purpose.CONVERSATION),
                  author=_staff_name(m.sent_by_staff_id), needs_action=m.needs_staff_action,
                  suggested_action=m.suggested_action,
                  media_ids=media.get(m.id, []), media_waiting=waiting.get(m.id, []),
                  files=files.get(m.id, []),
                  cancellable=(m.status == MessageStatus.SCHEDULED
                               and m.sent_by_staff_id is not None))
             for m in messages]
    oldest = messages[0].created_at if len(messages) >= THREAD_LIMIT else None
    notes = select(ConversationNote).where(ConversationNote.conversation_id == conversation_id)
    if oldest is not None:
        notes = notes.where(ConversationNote.created_at >= oldest)
    for note in db.session.execute(notes).scalars():
        items.append(Item(kind="note", id=note.id, at=note.created_at.astimezone(zone),
                          direction="note", channel="note", body=note.body,
                          author=_staff_name(note.staff_id)))
    items.sort(key=lambda item: (item.at, item.kind == "note", item.id))
    return items


def _staff_name(staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    return db.session.execute(select(StaffUser.display_name).where(
        StaffUser.id == staff_id)).scalar_one_or_none()


def _opted_out(conversation: Conversation) -> str | None:
    if conversation.channel != "sms":
        return None
    return consent.opted_out_source(practice_id=conversation.practice_id, channel="sms",
                                    contact_index=conversation.contact_index)
