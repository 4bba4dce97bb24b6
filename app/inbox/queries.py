"""The inbox list: a practice's conversations by last activity, filtered, one cursor page at
a time, each row with what the list shows (who, the last message, unread for this staff
member, assignment, status).

Reading a page reads patients' names and message text, so it is audited with the patients
shown. The cursor is the last row's (last activity, id): no offset, so a page costs the same
deep in the list, and new conversations arriving meanwhile do not shift the next page.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, false, func, or_, select

from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.inbox import search
from app.messaging.models import (
    Conversation,
    ConversationRead,
    Direction,
    Message,
    conversation_patient,
)
from app.patients.models import Patient
from app.practice.practices import practice_zone
from app.scheduling.models import Appointment
from app.security import audit
from app.security.models import StaffUser

PAGE_SIZE = 30
VIEWS = ("all", "unread", "mine", "unassigned")
STATUSES = ("open", "snoozed", "closed")
TEAMS = ("front_desk", "billing")


class InvalidFilter(FieldErrors):
    """A filter or cursor that cannot be read (names the query parameter)."""


@dataclass(frozen=True)
class ListFilter:
    view: str = "all"
    status: str = "open"
    team: str | None = None
    location_id: int | None = None
    needs_action: bool = False
    search_token: str | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class ListRow:
    id: int
    channel: str
    names: list[str]
    preview: str
    last_direction: str | None
    last_at: datetime | None  # in the practice's zone
    unread: bool
    needs_action: bool
    assigned_staff: str | None
    assigned_team: str | None
    status: str


@dataclass
class ListPage:
    rows: list[ListRow]
    next_cursor: str | None
    unread_count: int
    search_query: str | None = None
    patient_ids: list[int] = field(default_factory=list)
    newest: str | None = None  # the first row's cursor: what a live refresh compares


def conversation_status(conversation: Any, now: datetime) -> str:
    """Of a conversation, or of a list row's columns (``closed``, ``snoozed_until``)."""
    if conversation.closed:
        return "closed"
    if conversation.snoozed_until is not None and conversation.snoozed_until > now:
        return "snoozed"
    return "open"


def with_read_marker(stmt: Select, staff_id: int) -> Select:
    """``stmt`` joined to this staff member's read marker of each conversation (a key lookup
    per row, instead of a subquery per row); ``UNREAD`` then tells unread ones."""
    return stmt.outerjoin(ConversationRead, and_(
        ConversationRead.conversation_id == Conversation.id,
        ConversationRead.staff_id == staff_id))


# A message came in after the staff member last opened it (or they never did); needs the
# join of ``with_read_marker``.
UNREAD = and_(Conversation.last_inbound_at.is_not(None),
              or_(ConversationRead.read_at.is_(None),
                  Conversation.last_inbound_at > ConversationRead.read_at))


def _status_condition(status: str, now: datetime):  # noqa: ANN202
    if status == "closed":
        return Conversation.closed.is_(True)
    snoozed = and_(Conversation.snoozed_until.is_not(None), Conversation.snoozed_until > now)
    if status == "snoozed":
        return and_(Conversation.closed.is_(False), snoozed)
    return and_(Conversation.closed.is_(False),
                or_(Conversation.snoozed_until.is_(None), Conversation.snoozed_until <= now))


# What a row shows of the conversation: no entity, so nothing else (its contact) is decrypted
_SHOWN = (Conversation.id, Conversation.channel, Conversation.last_message_at,
          Conversation.needs_action, Conversation.assigned_team, Conversation.closed,
          Conversation.snoozed_until)


def _filtered(practice_id: int, staff_id: int, chosen: ListFilter, now: datetime,
              patient_ids: list[int] | Select | None, contact_indexes: list[str]) -> Select:
    stmt = with_read_marker(select(*_SHOWN), staff_id).where(
        Conversation.practice_id == practice_id, Conversation.last_message_at.is_not(None),
        _status_condition(chosen.status, now))
    if chosen.view == "unread":
        stmt = stmt.where(UNREAD)
    elif chosen.view == "mine":
        stmt = stmt.where(Conversation.assigned_staff_id == staff_id)
    elif chosen.view == "unassigned":
        stmt = stmt.where(Conversation.assigned_staff_id.is_(None),
                          Conversation.assigned_team.is_(None))
    if chosen.team:
        stmt = stmt.where(Conversation.assigned_team == chosen.team)
    if chosen.needs_action:
        stmt = stmt.where(Conversation.needs_action)  # as ix_conversation_needs_action says
    if chosen.location_id is not None:
        visits_there = select(conversation_patient.c.conversation_id).join(
            Appointment, Appointment.patient_id == conversation_patient.c.patient_id).where(
            Appointment.location_id == chosen.location_id)
        stmt = stmt.where(Conversation.id.in_(visits_there))
    if patient_ids is not None:
        stmt = stmt.where(Conversation.id.in_(
            _searched(practice_id, patient_ids, contact_indexes) or [-1]))
    return stmt


def _searched(practice_id: int, patient_ids: list[int] | Select, contact_indexes: list[str]
              ) -> list[int]:
    """The conversations a search found, as ids: a short list the database looks up by
    key, instead of testing every conversation in activity order against the search."""
    linked = select(conversation_patient.c.conversation_id).where(
        conversation_patient.c.patient_id.in_(
            patient_ids if isinstance(patient_ids, Select) else patient_ids or [-1]))
    by_contact = select(Conversation.id).where(
        Conversation.practice_id == practice_id,
        Conversation.contact_index.in_(contact_indexes) if contact_indexes else false())
    return list(db.session.execute(linked.union(by_contact)).scalars())


def encode_cursor(at: datetime, conversation_id: int) -> str:
    raw = f"{at.astimezone(UTC).isoformat()}|{conversation_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, conversation_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or len(cursor) > 100:
            raise ValueError(cursor)
        return moment, int(conversation_id)
    except (ValueError, UnicodeDecodeError) as bad:
        raise InvalidFilter({"after": "use the link of the list's next page"}) from bad


def conversation_page(*, practice_id: int, staff_id: int, chosen: ListFilter,
                      shown_newest: str | None = None) -> ListPage:
    """One page of the list for ``staff_id``; audited (the patients shown) and committed.
    A live refresh names the ``newest`` of the page it replaces: an unchanged list is not
    audited again."""
    now = utcnow()
    found = search.resolve(practice_id=practice_id, staff_id=staff_id,
                           token=chosen.search_token) if chosen.search_token else None
    stmt = _filtered(practice_id, staff_id, chosen, now,
                     found.patient_ids if found else None,
                     found.contact_indexes if found else [])
    if chosen.cursor:
        at, after_id = decode_cursor(chosen.cursor)
        stmt = stmt.where(or_(Conversation.last_message_at < at,
                              and_(Conversation.last_message_at == at,
                                   Conversation.id < after_id)))
    # each row's latest message and assignee by key, and the tab's unread count (computed
    # once), in the same statement (see _rows)
    found_rows = list(db.session.execute(
        stmt.add_columns(UNREAD.label("unread"), StaffUser.display_name, Message.body,
                         Message.direction,
                         _unread_counted(practice_id, staff_id).scalar_subquery()
                         .label("unread_count"))
        .outerjoin(StaffUser, StaffUser.id == Conversation.assigned_staff_id)
        .outerjoin(Message, Message.id == Conversation.last_message_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(PAGE_SIZE + 1)).all())
    more = len(found_rows) > PAGE_SIZE
    found_rows = found_rows[:PAGE_SIZE]
    zone = practice_zone(practice_id)
    rows, shown = _rows(found_rows, now, zone)
    last = rows[-1] if rows else None
    page = ListPage(rows=rows, next_cursor=encode_cursor(last.last_at, last.id)
                    if more and last else None,
                    unread_count=found_rows[0].unread_count if found_rows else
                    unread_count(practice_id=practice_id, staff_id=staff_id),
                    search_query=found.query if found else None, patient_ids=shown,
                    newest=encode_cursor(rows[0].last_at, rows[0].id) if rows else None)
    if shown and (shown_newest is None or shown_newest != page.newest):
        audit.record(audit.Action.CONVERSATION_VIEW, object_type="inbox_list",
                     detail={"patient_ids": shown, "conversation_ids": [r.id for r in rows]})
    db.session.commit()
    return page


UNREAD_COUNT_LIMIT = 100  # past it the title says "99+": counting further costs time


def unread_count(*, practice_id: int, staff_id: int) -> int:
    """Open conversations unread for this staff member (the tab title's number), counted up
    to ``UNREAD_COUNT_LIMIT``."""
    return db.session.execute(_unread_counted(practice_id, staff_id)).scalar_one()


def _unread_counted(practice_id: int, staff_id: int) -> Select:
    unread = with_read_marker(select(Conversation.id), staff_id).where(
        Conversation.practice_id == practice_id,
        _status_condition("open", utcnow()), UNREAD).limit(UNREAD_COUNT_LIMIT)
    return select(func.count()).select_from(unread.subquery())


def _rows(found: list, now: datetime, zone: ZoneInfo) -> tuple[list[ListRow], list[int]]:
    """The list's rows (shown conversation columns, unread, the assignee's name, the latest
    message's body and direction) and the patients they show. The latest message is the one
    ``Conversation.last_message_id`` names (kept by messaging.conversations.refresh_derived),
    so no row aggregates messages; the names of every row's patients come in one more query.
    Only the shown columns are decrypted. Times are in the practice's zone, as staff read
    them."""
    ids = [row.id for row in found]
    if not ids:
        return [], []
    names: dict[int, list[tuple[int, str]]] = {}
    for conversation_id, patient_id, given, family in db.session.execute(
            select(conversation_patient.c.conversation_id, Patient.id, Patient.given_name,
                   Patient.family_name)
            .join(Patient, Patient.id == conversation_patient.c.patient_id)
            .where(conversation_patient.c.conversation_id.in_(ids))
            .order_by(Patient.id)):
        names.setdefault(conversation_id, []).append((patient_id, f"{given} {family}"))
    rows = [ListRow(
        id=r.id, channel=r.channel, names=[name for _, name in names.get(r.id, [])],
        preview=_preview(r.body, r.direction), last_direction=r.direction,
        last_at=r.last_message_at and r.last_message_at.astimezone(zone),
        unread=bool(r.unread), needs_action=r.needs_action,
        assigned_staff=r.display_name, assigned_team=r.assigned_team,
        status=conversation_status(r, now))
        for r in found]
    shown = sorted({pid for entries in names.values() for pid, _ in entries})
    return rows, shown


def _preview(body: str | None, direction: str | None) -> str:
    text = " ".join((body or "").split())
    if not text and direction == Direction.INBOUND:
        return "📷"
    return text[:120]
