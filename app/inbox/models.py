"""The inbox's own rows: internal notes, canned replies, who is in a conversation right now,
and the searches staff run (kept here so no name, birth date or phone travels in a URL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db


class ConversationNote(PracticeScoped, db.Model):
    """A staff member's internal note in a thread: shown to staff, never sent."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    body: Mapped[str] = mapped_column(EncryptedText("conversation_note.body"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(PracticeScoped, db.Model):
    """A reply staff insert in the composer; ``{first_name}``, ``{next_appointment}`` and
    ``{practice_phone}`` are filled in for the conversation's patient. Managers keep them."""

    __table_args__ = (Index("ix_canned_reply_practice_title", "practice_id", "title",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(EncryptedText("canned_reply.body"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConversationPresence(PracticeScoped, db.Model):
    """A staff member has a conversation open (and maybe is typing) as of ``seen_at``; rows
    older than ``presence.TTL`` mean nothing."""

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    typing: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxSearch(PracticeScoped, db.Model):
    """A search a staff member posted; the list's URL names its random ``token`` only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    query: Mapped[str] = mapped_column(EncryptedText("inbox_search.query"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
