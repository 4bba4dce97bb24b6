"""The transactional outbox: the only way anything sends a message to a patient.

``enqueue`` writes a ``Message`` row in the caller's transaction — the booking, the staff reply,
the campaign step — so the message exists exactly when the event does. A unique idempotency key
(e.g. ``reminder:<appointment>:<offset>``) makes a second enqueue of the same event a no-op.
The worker (``messaging.dispatcher``) sends it later, applying the rules at send time.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from app.core.clock import utcnow
from app.core.db import insert_many_unless_exists, insert_returning_unless_exists
from app.extensions import db
from app.messaging.conversations import refresh_derived
from app.messaging.models import Direction, Message, MessageStatus, Purpose
from app.security import audit


class OutboxError(ValueError):
    """The message cannot be queued as asked (names the argument at fault)."""


def enqueue(*, practice_id: int, purpose: Purpose, idempotency_key: str,
            patient_id: int | None = None, conversation_id: int | None = None,
            channel: str | None = None, address: str | None = None,
            template: str | None = None, context: dict[str, Any] | None = None,
            body: str | None = None, subject: str | None = None,
            send_at: datetime | None = None, capped: bool = False,
            in_reply_to_id: int | None = None, immediate_reply: bool = False,
            staff_id: int | None = None, language: str | None = None) -> Message:
    """Queue one outbound message; returns the row (the existing one for a repeated key).

    Either ``template`` (rendered at send time in the patient's language, or in ``language``
    for a message to a bare address) or ``body`` (a staff-written text) is required. Without
    ``channel`` the patient's preferred channel is chosen at send time, falling back to the
    other one. Without ``address`` the patient's current mobile number or email is used at
    send time."""
    if not template and not body:
        raise OutboxError("template or body: one is required")
    if patient_id is None and address is None:
        raise OutboxError("patient_id or address: one is required")
    if channel is None and address is not None:
        raise OutboxError("channel: required when an address is given")
    if len(idempotency_key) > 200:
        raise OutboxError("idempotency_key: at most 200 characters")
    now = utcnow()
    message = insert_returning_unless_exists(Message, {
        "practice_id": practice_id, "patient_id": patient_id, "conversation_id": conversation_id,
        "direction": Direction.OUTBOUND, "channel": channel or "", "purpose": purpose,
        "template": template, "language": language,
        "context": json.dumps(context or {}, sort_keys=True),
        "body": body, "subject": subject, "address": address,
        "idempotency_key": idempotency_key, "status": MessageStatus.SCHEDULED,
        "send_at": send_at or now, "capped": capped, "in_reply_to_id": in_reply_to_id,
        "is_immediate_reply": immediate_reply, "sent_by_staff_id": staff_id,
        "attempts": 0, "created_at": now, "updated_at": now,
    }, unique_on=["idempotency_key"])
    if message is None:
        return db.session.execute(
            select(Message).where(Message.idempotency_key == idempotency_key)).scalar_one()
    refresh_derived([conversation_id])
    if staff_id is not None and patient_id is not None:
        audit.record(audit.Action.MESSAGE_SEND, patient_id=patient_id, object_type="message",
                     object_id=message.id)
    return message


def cancel(*, idempotency_key_prefix: str, reason: str) -> int:
    """Cancel still-scheduled messages whose key starts with the prefix (an appointment's
    reminders when it is cancelled). Returns how many were cancelled."""
    cancelled = list(db.session.execute(
        update(Message)
        .where(Message.idempotency_key.startswith(idempotency_key_prefix, autoescape=True),
               Message.status == MessageStatus.SCHEDULED)
        .values(status=MessageStatus.CANCELLED, status_reason=reason[:120], updated_at=utcnow())
        .returning(Message.conversation_id)).scalars())
    refresh_derived(cancelled)
    return len(cancelled)


def cancel_message(*, practice_id: int, message_id: int, reason: str) -> bool:
    """Cancel one message that has not been sent yet; False when it is no longer
    ``scheduled`` (a worker claimed it, or it was sent or ended). The status is checked in
    the UPDATE itself, so a worker claiming the row at the same moment cannot also send it.
    ``reason`` is stored in plain text: no PHI."""
    cancelled = list(db.session.execute(
        update(Message)
        .where(Message.id == message_id, Message.practice_id == practice_id,
               Message.status == MessageStatus.SCHEDULED)
        .values(status=MessageStatus.CANCELLED, status_reason=reason[:120], updated_at=utcnow())
        .returning(Message.conversation_id)
        .execution_options(synchronize_session=False)).scalars())
    refresh_derived(cancelled)
    return bool(cancelled)


def retime(*, message_id: int, send_at: datetime, context: dict[str, Any]) -> bool:
    """Plan a queued message again (a visit moved, a household's list changed): a scheduled
    or cancelled message becomes scheduled at ``send_at`` with ``context``. False when it is
    already being sent or was sent (its moment is over)."""
    retimed = list(db.session.execute(
        update(Message)
        .where(Message.id == message_id,
               Message.status.in_((MessageStatus.SCHEDULED, MessageStatus.CANCELLED)))
        .values(status=MessageStatus.SCHEDULED, send_at=send_at, status_reason=None,
                context=json.dumps(context, sort_keys=True), updated_at=utcnow())
        .returning(Message.conversation_id)
        .execution_options(synchronize_session=False)).scalars())
    refresh_derived(retimed)
    return bool(retimed)


def enqueue_many(rows: list[dict[str, Any]]) -> int:
    """Queue many templated messages to patients at once (a planner's batch): each row has
    ``practice_id``, ``purpose``, ``idempotency_key``, ``patient_id``, ``channel`` (or None),
    ``template``, ``context`` and ``send_at``. A row whose key is already queued is skipped,
    as ``enqueue`` would. One INSERT per thousand rows; returns how many were new."""
    now = utcnow()
    full = [{"practice_id": row["practice_id"], "patient_id": row["patient_id"],
             "conversation_id": None, "direction": Direction.OUTBOUND,
             "channel": row.get("channel") or "", "purpose": row["purpose"],
             "template": row["template"], "language": None,
             "context": json.dumps(row["context"], sort_keys=True), "body": None,
             "subject": None, "address": None, "idempotency_key": row["idempotency_key"],
             "status": MessageStatus.SCHEDULED, "send_at": row["send_at"], "capped": False,
             "in_reply_to_id": None, "is_immediate_reply": False, "sent_by_staff_id": None,
             "attempts": 0, "created_at": now, "updated_at": now} for row in rows]
    inserted = 0
    for start in range(0, len(full), 1000):
        inserted += insert_many_unless_exists(Message, full[start:start + 1000],
                                              unique_on=["idempotency_key"])
    return inserted
