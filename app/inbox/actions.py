"""What staff do to a conversation besides answering: assign it, close, snooze or reopen it,
and write internal notes (shown to staff only, never sent). Each call commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.inbox.models import ConversationNote
from app.inbox.queries import TEAMS
from app.inbox.threads import get_conversation
from app.messaging import conversations
from app.messaging.models import Conversation, Message
from app.security.models import StaffUser

MAX_NOTE_LENGTH = 2000
MAX_SNOOZE = timedelta(days=60)


class ActionRefused(FieldErrors):
    """The change cannot be made as asked (names the form field)."""


def assign(*, practice_id: int, conversation_id: int, staff_id: int, target: str) -> str:
    """Assign to ``me``, ``staff:<id>``, ``team:<team>``, ``next:<team>`` (round robin: the
    team's active member with the fewest open conversations) or ``none``. Returns who it is
    assigned to now (a name, a team, or "")."""
    conversation = get_conversation(practice_id, conversation_id)
    kind, _sep, value = target.partition(":")
    if kind == "me":
        conversation.assigned_staff_id, conversation.assigned_team = staff_id, None
    elif kind == "none":
        conversation.assigned_staff_id, conversation.assigned_team = None, None
    elif kind == "team" and value in TEAMS:
        conversation.assigned_staff_id, conversation.assigned_team = None, value
    elif kind == "next" and value in TEAMS:
        conversation.assigned_staff_id = _least_busy(practice_id, value)
        conversation.assigned_team = value
    elif kind == "staff" and value.isdigit() and len(value) < 12:
        member = db.session.get(StaffUser, int(value))
        if member is None or member.practice_id != practice_id or not member.active:
            raise ActionRefused({"assign": _("Choose one of the staff members offered.")})
        conversation.assigned_staff_id, conversation.assigned_team = member.id, None
    else:
        raise ActionRefused({"assign": _("Choose one of the options offered.")})
    db.session.commit()
    return target


def _least_busy(practice_id: int, team: str) -> int:
    load = (select(Conversation.assigned_staff_id, func.count(Conversation.id).label("n"))
            .where(Conversation.practice_id == practice_id, Conversation.closed.is_(False))
            .group_by(Conversation.assigned_staff_id).subquery())
    chosen = db.session.execute(
        select(StaffUser.id).outerjoin(load, load.c.assigned_staff_id == StaffUser.id)
        .where(StaffUser.practice_id == practice_id, StaffUser.role == team,
               StaffUser.active.is_(True))
        .order_by(func.coalesce(load.c.n, 0), StaffUser.id).limit(1)).scalar_one_or_none()
    if chosen is None:
        raise ActionRefused({"assign": _("No active staff member is in that team.")})
    return chosen


def settle(conversation_id: int) -> None:
    """Staff answered or closed it: no message in it waits for action any more."""
    db.session.execute(update(Message).where(
        Message.conversation_id == conversation_id, Message.needs_staff_action)
        .values(needs_staff_action=False).execution_options(synchronize_session=False))
    conversations.refresh_derived([conversation_id])


def set_status(*, practice_id: int, conversation_id: int, status: str,
               snooze_until: datetime | None = None) -> None:
    """``open``, ``closed``, or ``snoozed`` until ``snooze_until`` (a future moment); a new
    inbound message reopens a closed or snoozed conversation."""
    conversation = get_conversation(practice_id, conversation_id)
    now = utcnow()
    if status == "closed":
        conversation.closed, conversation.snoozed_until = True, None
        settle(conversation.id)
    elif status == "open":
        conversation.closed, conversation.snoozed_until = False, None
    elif status == "snoozed":
        if snooze_until is None or snooze_until <= now:
            raise ActionRefused({"until": _("Choose a time in the future.")})
        if snooze_until > now + MAX_SNOOZE:
            raise ActionRefused({"until": _("Snooze for at most %(days)d days.",
                                            days=MAX_SNOOZE.days)})
        conversation.closed, conversation.snoozed_until = False, snooze_until
    else:
        raise ActionRefused({"status": _("Choose one of the options offered.")})
    db.session.commit()


def add_note(*, practice_id: int, conversation_id: int, staff_id: int, body: str
             ) -> ConversationNote:
    conversation = get_conversation(practice_id, conversation_id)
    text = body.strip()
    if not text:
        raise ActionRefused({"note": _("Write the note first.")})
    if len(text) > MAX_NOTE_LENGTH:
        raise ActionRefused({"note": _("Use at most %(max)d characters.", max=MAX_NOTE_LENGTH)})
    note = ConversationNote(practice_id=practice_id, conversation_id=conversation.id,
                            staff_id=staff_id, body=text, created_at=utcnow())
    db.session.add(note)
    db.session.commit()
    return note
