"""Showing an MMS picture, or downloading a file attached to a staff email: the stored,
encrypted copy (never the provider's URL), only in the staff member's practice, every view
audited with the patients of its message."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.messaging.models import Message, MessageMedia, conversation_patient
from app.security import audit

# What a browser is given to show inline; anything else is downloaded, never rendered.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class MediaNotFound(LookupError):
    """No stored picture with that id in this practice."""


@dataclass(frozen=True)
class MediaFile:
    content_type: str
    data: bytes
    inline: bool
    filename: str | None  # an attachment's name (an MMS picture has none)


def read(*, practice_id: int, media_id: int) -> MediaFile:
    media = db.session.get(MessageMedia, media_id)
    if media is None or media.practice_id != practice_id or media.content is None:
        raise MediaNotFound(media_id)
    message = db.session.get_one(Message, media.message_id)
    patient_ids = set(db.session.execute(select(conversation_patient.c.patient_id).where(
        conversation_patient.c.conversation_id == message.conversation_id)).scalars())
    if message.patient_id:
        patient_ids.add(message.patient_id)
    for patient_id in sorted(patient_ids) or [None]:
        audit.record(audit.Action.CONVERSATION_VIEW, patient_id=patient_id,
                     object_type="message_media", object_id=media.id,
                     detail={"message_id": message.id})
    db.session.commit()
    return MediaFile(content_type=media.content_type, data=base64.b64decode(media.content),
                     inline=media.content_type in INLINE_TYPES, filename=media.filename)
