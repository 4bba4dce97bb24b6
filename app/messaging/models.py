from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db

conversation_patient = Table(
    "conversation_patient",
    db.metadata,
    Column("conversation_id", Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
           primary_key=True),
    Column("patient_id", Integer, ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True),
    # a patient's conversations (search, the record page): the key starts with the conversation
    Index("ix_conversation_patient_patient", "patient_id"),
)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Conversation(PracticeScoped, db.Model):
    """One thread per contact point (a phone number or email address); a household's shared
    phone is one conversation with several patients."""

    __table_args__ = (Index("ix_conversation_practice_contact", "practice_id", "contact_index",
                            unique=True),
                      # the inbox's list: a practice's conversations by last activity
                      Index("ix_conversation_practice_activity", "practice_id",
                            "last_message_at", "id"),
                      # its "needs action" filter: few rows, in the same order
                      Index("ix_conversation_needs_action", "practice_id", "last_message_at",
                            "id", postgresql_where=text("needs_action"),
                            sqlite_where=text("needs_action")))

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    channel: Mapped[str] = mapped_column(String(10))  # sms | email
    contact: Mapped[str] = mapped_column(EncryptedText("conversation.contact"))
    contact_index: Mapped[str] = mapped_column(String(40))
    # ``unread``: a message came in that no staff member has opened yet (the home page's
    # count); each staff member's own read state is a ``ConversationRead`` row.
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    # Open, snoozed (``snoozed_until`` in the future) or closed; a new inbound text reopens.
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who answers it: a staff member, or a team (a Role value: front_desk, billing).
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    assigned_team: Mapped[str | None] = mapped_column(String(20))
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Derived from the messages, kept for the inbox's list so it never aggregates them: the
    # latest message not cancelled (its id: the list reads that one row by key) and whether
    # one waits for staff (``Message.needs_staff_action``). The messages stay the truth:
    # ``conversations.refresh_derived`` has both recomputed when the transaction commits,
    # wherever a message joins a conversation, is cancelled or scheduled again, or is flagged
    # or settled (the outbox, the dispatcher, inbound texts, staff actions, the inbox).
    last_message_id: Mapped[int | None] = mapped_column(Integer)
    needs_action: Mapped[bool] = mapped_column(Boolean, default=False,
                                               server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patients = relationship("Patient", secondary=conversation_patient)
    messages: Mapped[list[Message]] = relationship(back_populates="conversation",
                                                   order_by="Message.created_at")


class MessageStatus(StrEnum):
    """Inbound messages are ``received``. Outbound ones move scheduled → sending → sent →
    delivered | undelivered | failed, or end cancelled / suppressed (with the rule)."""

    RECEIVED = "received"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"


class Purpose(StrEnum):
    """Why a message is sent; consent and caps depend on it."""

    APPOINTMENT = "appointment"    # reminders, confirmations (FCC healthcare exemption)
    CONVERSATION = "conversation"  # staff replies in a conversation the patient has with us
    SYSTEM = "system"              # keyword replies, one-time codes, opt-out confirmations
    BILLING = "billing"            # balances and payment links: need consent for the purpose
    MARKETING = "marketing"        # recall, reactivation, reviews, broadcasts: explicit opt-in


class Message(PracticeScoped, db.Model):
    """Every message in and out. Outbound rows are the transactional outbox: written in the
    same transaction as the event that causes them, then sent by ``flask worker``."""

    __table_args__ = (Index("ix_message_due", "status", "send_at"),
                      # a conversation's messages newest first: its latest one (the inbox
                      # row, conversations.latest_message_id) without reading the others
                      Index("ix_message_conversation_latest", "conversation_id", "id"),
                      # the inbox's "needs action": few rows, found per conversation
                      Index("ix_message_needs_staff_action", "conversation_id",
                            postgresql_where=text("needs_staff_action"),
                            sqlite_where=text("needs_staff_action")))

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))  # sms | email
    purpose: Mapped[str] = mapped_column(String(20), default=Purpose.CONVERSATION)
    # Outbound: the template and its context, rendered at send time in the patient's language.
    template: Mapped[str | None] = mapped_column(String(80))
    # The language to render in when there is no patient to take it from (a texted code to a
    # number typed on a Spanish page); None means English.
    language: Mapped[str | None] = mapped_column(String(5))
    context: Mapped[str | None] = mapped_column(EncryptedText("message.context"))
    subject: Mapped[str | None] = mapped_column(EncryptedText("message.subject"))
    body: Mapped[str | None] = mapped_column(EncryptedText("message.body"))
    # Where it went (or, inbound, came from); set at send time unless fixed at enqueue.
    address: Mapped[str | None] = mapped_column(EncryptedText("message.address"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    is_immediate_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.RECEIVED)
    status_reason: Mapped[str | None] = mapped_column(String(120))
    # Inbound, left for staff: what the reply most likely asks (confirm, cancel, reschedule,
    # running_late, wrong_number, ...), set by an intent handler that could not act alone.
    suggested_action: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An inbound reply the system could not act on and staff must answer (a likely opt-out, a
    # reply journeys found ambiguous). Whoever routes the reply sets it; the inbox clears it
    # when a staff member answers or closes the conversation. Its "needs action" filter.
    needs_staff_action: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    conversation: Mapped[Conversation | None] = relationship(back_populates="messages")


class ConversationRead(PracticeScoped, db.Model):
    """When a staff member last opened a conversation: it is unread for them while a
    message came in after ``read_at``."""

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageMedia(PracticeScoped, db.Model):
    """A picture (or other file) of an inbound MMS, fetched from the provider and kept here
    encrypted (base64 of the bytes in ``content``), never only at the provider's URL; or a
    file a staff member attached to an outbound email (``filename`` set, ``content`` stored
    from the start), sent with it by the dispatcher."""

    __table_args__ = (Index("ix_message_media_message", "message_id", "position", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # MediaUrl<position>
    content_type: Mapped[str] = mapped_column(String(100))
    # The provider's URL until fetched (then cleared); the fetch is retried while it is set.
    source_url: Mapped[str | None] = mapped_column(EncryptedText("message_media.source_url"))
    content: Mapped[str | None] = mapped_column(EncryptedText("message_media.content"))
    size: Mapped[int | None] = mapped_column(Integer)
    # An email attachment's file name as sent (None for an MMS picture).
    filename: Mapped[str | None] = mapped_column(EncryptedText("message_media.filename"))
    fetch_error: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEntry(PracticeScoped, db.Model):
    """The consent ledger: one row per change, never updated. The current state for a contact
    point, channel and purpose is derived from the latest rows (see messaging.consent)."""

    __table_args__ = (Index("ix_consent_contact", "practice_id", "contact_index", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    channel: Mapped[str] = mapped_column(String(10))
    contact_index: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(20))  # a Purpose, or "all"
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(30))  # keyword, staff, form, carrier, ...
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reason: Mapped[str | None] = mapped_column(EncryptedText("consent_entry.reason"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactPointStatus(PracticeScoped, db.Model):
    """A phone or email address the providers told us cannot receive messages."""

    __table_args__ = (Index("ix_contact_point_status_contact", "practice_id", "channel",
                            "contact_index", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    channel: Mapped[str] = mapped_column(String(10))
    contact_index: Mapped[str] = mapped_column(String(40))
    usable: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(String(60))  # invalid_number, landline, bounce
    error_code: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookEvent(PracticeScoped, db.Model):
    """Provider events already processed, so retried deliveries are handled once."""

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundText(db.Model):
    """A text Twilio posted that is stored but not yet routed (``messaging.inbound_queue``).

    Deployment-wide: which practice it is for is what routing decides. The webhook's fields
    are kept encrypted as one JSON document; the row is deleted in the transaction that
    stores the routed ``Message``, so only texts still waiting (or refused) remain here."""

    __table_args__ = (Index("ix_inbound_text_waiting", "id",
                            postgresql_where=text("refused_reason IS NULL"),
                            sqlite_where=text("refused_reason IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(EncryptedText("inbound_text.payload"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A routing that failed for a passing reason waits until then; None: route now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))  # no PHI: a reason or a type
    # Set when no practice owns the number it was sent to: not routed again until an operator
    # fixes the number and runs ``flask inbound route --retry-refused``.
    refused_reason: Mapped[str | None] = mapped_column(String(200))
