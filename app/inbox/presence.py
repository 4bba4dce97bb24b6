"""Who else has a conversation open right now, and whether they are typing: each open thread
reports itself on its live refresh, and rows older than ``TTL`` mean the staff member left.
Two people answering one patient see each other before they both send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.extensions import db
from app.inbox.models import ConversationPresence
from app.security.models import StaffUser

TTL = timedelta(seconds=30)


@dataclass(frozen=True)
class Present:
    name: str
    typing: bool


def report(*, practice_id: int, conversation_id: int, staff_id: int, typing: bool
           ) -> list[Present]:
    """This staff member is in the conversation (typing or not); the others in it now.
    Commits."""
    now = utcnow()
    values = {"typing": typing, "seen_at": now}
    created = insert_unless_exists(ConversationPresence, {
        "conversation_id": conversation_id, "staff_id": staff_id, "practice_id": practice_id,
        **values}, unique_on=["conversation_id", "staff_id"])
    if created is None:
        db.session.execute(ConversationPresence.__table__.update().where(
            ConversationPresence.conversation_id == conversation_id,
            ConversationPresence.staff_id == staff_id).values(**values))
    others = [Present(name, typing) for name, typing in db.session.execute(
        select(StaffUser.display_name, ConversationPresence.typing)
        .join(StaffUser, StaffUser.id == ConversationPresence.staff_id)
        .where(ConversationPresence.conversation_id == conversation_id,
               ConversationPresence.practice_id == practice_id,
               ConversationPresence.staff_id != staff_id,
               ConversationPresence.seen_at >= now - TTL)
        .order_by(StaffUser.display_name))]
    db.session.commit()
    return others
