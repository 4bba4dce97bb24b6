"""Conversations: one thread per contact point (phone number or email address)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.core.clock import utcnow
from app.core.db import insert_many_unless_exists, insert_unless_exists, upsert_returning
from app.extensions import db
from app.messaging.models import Conversation, conversation_patient
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


def touch(*, practice_id: int, address: str, patient_ids: list[int] | tuple[int, ...],
          at: datetime) -> Conversation:
    """The SMS conversation for ``address``, created on first use, with ``last_message_at``
    set to ``at`` and the given patients linked: two statements (one without patients)."""
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
