"""Conversations: one thread per contact point (phone number or email address)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.db import insert_many_unless_exists, insert_unless_exists, upsert_returning
from app.core.tenancy import across_practices
from app.extensions import db
from app.messaging.models import Conversation, Message, MessageStatus, conversation_patient
from app.security import blind_index


def contact_index(channel: str, address: str) -> str:
    """The blind index of a contact point: E.164 phone for SMS, email for email."""
    return blind_index.phone_index(address) if channel == "sms" else blind_index.email_index(
        address)


def get_or_create(*, practice_id: int, channel: str, address: str,
                  patient_ids: list[int] | tuple[int, ...] = ()) -> Conversation:
    """The conversation for this contact point, created on first use (race-safe), with the
    given patients linked to it."""
    index = contact_index(channel, address)
    insert_unless_exists(Conversation, {
        "practice_id": practice_id, "channel": channel, "contact": address,
        "contact_index": index, "unread": False, "closed": False, "created_at": utcnow(),
    }, unique_on=["practice_id", "contact_index"])
    conversation = db.session.execute(
        select(Conversation).where(Conversation.practice_id == practice_id,
                                   Conversation.contact_index == index)).scalar_one()
    for patient_id in patient_ids:
        insert_unless_exists(conversation_patient, {
            "conversation_id": conversation.id, "patient_id": patient_id,
        }, unique_on=["conversation_id", "patient_id"])
    return conversation


def latest_message_id():  # noqa: ANN201 (a SQL expression, correlated to the conversation)
    """The conversation's latest message that is not cancelled: what its list row shows."""
    return (select(func.max(Message.id))
            .where(Message.conversation_id == Conversation.id,
                   Message.status != MessageStatus.CANCELLED)
            .correlate(Conversation).scalar_subquery())


def waits_for_staff():  # noqa: ANN201 (a SQL condition, correlated to the conversation)
    """A message in the conversation waits for staff (``Message.needs_staff_action``)."""
    return (select(Message.id).where(Message.conversation_id == Conversation.id,
                                     Message.needs_staff_action)  # its partial index
            .correlate(Conversation).exists())


def refresh_derived(conversation_ids: Iterable[int | None]) -> None:
    """Have ``Conversation.last_message_id`` and ``needs_action`` recomputed from the messages
    when the caller's transaction commits (once per transaction, however many changes). Call
    it wherever a message joins a conversation, is cancelled or scheduled again, or is flagged
    for staff or settled; the messages are the truth, these two columns only spare the inbox's
    list from reading them."""
    ids = {i for i in conversation_ids if i is not None}
    if ids:
        db.session.info.setdefault(_PENDING, set()).update(ids)


_PENDING = "frontdesk.conversations_to_refresh"


@event.listens_for(Session, "before_commit")
def _recompute(session: Session) -> None:
    ids = sorted(session.info.pop(_PENDING, ()))
    if not ids:
        return
    session.flush()  # messages changed through the ORM count too
    with across_practices():  # ids the code named, in the practices it acted for
        # Lock the rows first: the UPDATE's own snapshot then sees every message committed
        # by a transaction that held them (two texts at once to one number).
        session.execute(select(Conversation.id).where(Conversation.id.in_(ids))
                        .order_by(Conversation.id).with_for_update())
        session.execute(
            update(Conversation).where(Conversation.id.in_(ids))
            .values(last_message_id=latest_message_id(), needs_action=waits_for_staff())
            .execution_options(synchronize_session=False))
    for conversation in [obj for obj in session.identity_map.values()
                         if isinstance(obj, Conversation) and obj.id in ids]:
        session.expire(conversation, ["last_message_id", "needs_action"])


def settle(conversation: Conversation, values: dict[str, object]) -> None:
    """Write ``values`` to the conversation and recompute its derived columns now, in one
    UPDATE, rather than ``refresh_derived`` at commit: for a caller that already holds the
    row's lock (``touch`` took it, so every message committed before is seen) and has
    written its messages (flushed here)."""
    session = db.session
    session.flush()
    session.info.get(_PENDING, set()).discard(conversation.id)
    statement = _SETTLE.values(**values) if values else _SETTLE
    session.execute(statement, {"conversation_id": conversation.id})
    session.expire(conversation, [*values, "last_message_id", "needs_action"])


_SETTLE = (update(Conversation).where(Conversation.id == bindparam("conversation_id"))
           .values(last_message_id=latest_message_id(), needs_action=waits_for_staff())
           .execution_options(synchronize_session=False))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def touch(*, practice_id: int, address: str, patient_ids: list[int] | tuple[int, ...],
          at: datetime) -> Conversation:
    """The SMS conversation for ``address``, created on first use, with ``last_message_at``
    set to ``at`` and the given patients linked: two statements (one without patients). The
    row stays locked until the transaction ends."""
    index = contact_index("sms", address)
    conversation = upsert_returning(Conversation, {
        "practice_id": practice_id, "channel": "sms", "contact": address,
        "contact_index": index, "unread": False, "closed": False, "created_at": at,
        "last_message_at": at,
    }, unique_on=["practice_id", "contact_index"], update={"last_message_at": at})
    insert_many_unless_exists(conversation_patient, [
        {"conversation_id": conversation.id, "patient_id": patient_id}
        for patient_id in dict.fromkeys(patient_ids)],
        unique_on=["conversation_id", "patient_id"])
    return conversation


def get_or_create_many(*, practice_id: int, channel: str,
                       contacts: list[tuple[str, int | None]]) -> dict[str, int]:
    """``get_or_create`` for many contact points of one practice at once, each (address,
    patient id or None) linking the patient: the conversation ids by address, in three
    statements however many there are (a worker's batch)."""
    indexes = {address: contact_index(channel, address) for address, _ in contacts}
    if not indexes:
        return {}
    now = utcnow()
    new = {index: {"practice_id": practice_id, "channel": channel, "contact": address,
                   "contact_index": index, "unread": False, "closed": False, "created_at": now}
           for address, index in indexes.items()}
    insert_many_unless_exists(Conversation, list(new.values()),
                              unique_on=["practice_id", "contact_index"])
    ids = dict(db.session.execute(
        select(Conversation.contact_index, Conversation.id).where(
            Conversation.practice_id == practice_id,
            Conversation.contact_index.in_(list(new)))).all())
    links = sorted({(ids[indexes[address]], patient_id) for address, patient_id in contacts
                    if patient_id})
    insert_many_unless_exists(conversation_patient, [
        {"conversation_id": conversation_id, "patient_id": patient_id}
        for conversation_id, patient_id in links], unique_on=["conversation_id", "patient_id"])
    return {address: ids[index] for address, index in indexes.items()}
