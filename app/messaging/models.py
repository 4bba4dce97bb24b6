from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db

conversation_patient = Table(
    "conversation_patient",
    db.metadata,
    Column("conversation_id", Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
           primary_key=True),
    Column("patient_id", Integer, ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True),
)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Conversation(db.Model):
    """One thread per contact point (a phone number or email address); a household's shared
    phone is one conversation with several patients."""

    __table_args__ = (Index("ix_conversation_practice_contact", "practice_id", "contact_index",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    channel: Mapped[str] = mapped_column(String(10))  # sms | email
    contact: Mapped[str] = mapped_column(EncryptedText("conversation.contact"))
    contact_index: Mapped[str] = mapped_column(String(40))
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patients = relationship("Patient", secondary=conversation_patient)
    messages: Mapped[list[Message]] = relationship(back_populates="conversation",
                                                   order_by="Message.created_at")


class Message(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(EncryptedText("message.body"))
    sent_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
