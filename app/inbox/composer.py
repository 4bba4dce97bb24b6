"""Answering a conversation: a staff reply (now, or later at a chosen time) goes into the
outbox (``messaging.outbox.enqueue``) and the dispatcher applies the send-time rules
(consent, quiet hours, caps) as for every message. Before that the composer is told what it
needs: an opted-out number (the SMS composer is disabled with the reason) and quiet hours in
the patient's zone (a warning, and the window's opening offered as the send time).

Each form carries a random token: it is the outbox idempotency key, so a double click or two
tabs posting the same form queue one message. An email reply may carry files
(``inbox.attachments``): kept encrypted with the message (``messaging.media.attach``), sent
with it whenever it goes, now or later. An email reply's subject is in the patient's language
(``patient_language``), whoever answers.

A refused reply comes back as a ``Draft``: the composer shows what was typed and chosen again,
each reason beside its field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.inbox import attachments as files
from app.inbox.actions import settle
from app.inbox.threads import get_conversation, linked_patients, mark_read
from app.messaging import consent, media, outbox, quiet_hours
from app.messaging.models import Conversation, Direction, Message, Purpose
from app.messaging.policy import patient_timezone
from app.patients.models import Language, Patient
from app.practice.models import Practice
from app.security import audit

MAX_SMS_LENGTH = 1600  # ten segments of GSM-7
MAX_EMAIL_LENGTH = 10_000
LATEST_SEND_LATER = timedelta(days=90)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class ReplyRefused(FieldErrors):
    """The reply cannot be queued as written (``body``, ``send_at``, ``token``,
    ``attachments``)."""


@dataclass(frozen=True)
class Draft:
    """A refused reply as the staff member left it: the text, the send-later time as typed, the
    canned reply chosen, the form's token, the reasons per field, and the names of the files
    to attach again (a browser never gets them back)."""

    body: str = ""
    send_at: str = ""
    canned: str = ""
    token: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuietHours:
    zone: str
    opens_at: datetime  # the window's next opening, in the zone


def quiet_hours_now(*, practice_id: int, conversation_id: int) -> QuietHours | None:
    """When it is quiet hours for the conversation's patient now: the zone and the window's
    next opening; None while texts may go."""
    conversation = get_conversation(practice_id, conversation_id)
    patients = linked_patients(conversation.id)
    patient = patients[0] if patients else None
    practice = db.session.get_one(Practice, practice_id)
    zone = patient_timezone(patient, practice)
    now = utcnow()
    try:
        allowed = quiet_hours.next_allowed_send_time(
            now, tz=zone, start=practice.send_window_start, end=practice.send_window_end,
            state=patient.state if patient else None)
    except quiet_hours.NoSendingTime:
        return None
    if allowed <= now:
        return None
    return QuietHours(zone=zone, opens_at=allowed.astimezone(quiet_hours.zone_for(zone)))


def reply(*, practice_id: int, conversation_id: int, staff_id: int, body: str, token: str,
          send_at: datetime | None = None, uploads: list[files.Upload] | None = None
          ) -> Message:
    """Queue the staff member's reply in the conversation; audited with its patients and
    committed. ``send_at``: later, at that moment (cancellable until it goes). ``uploads``:
    files to attach to an email reply."""
    conversation = get_conversation(practice_id, conversation_id)
    text = body.replace("\r\n", "\n").strip()  # a form posts a typed line break as CRLF
    errors: dict[str, str] = {}
    limit = MAX_SMS_LENGTH if conversation.channel == "sms" else MAX_EMAIL_LENGTH
    if not text:
        errors["body"] = _("Write the reply first.")
    elif len(text) > limit:
        errors["body"] = _("Use at most %(max)d characters.", max=limit)
    now = utcnow()
    if send_at is not None and not now < send_at <= now + LATEST_SEND_LATER:
        errors["send_at"] = _("Choose a time from now to %(days)d days ahead.",
                              days=LATEST_SEND_LATER.days)
    if not _TOKEN.match(token or ""):
        errors["token"] = _("The form had expired: check the reply and send it again.")
    if conversation.channel == "sms" and _opted_out(conversation):
        errors["body"] = _("This number opted out of texts: nothing can be sent to it.")
    attached = files.check(uploads or [], errors, channel=conversation.channel)
    if errors:
        raise ReplyRefused(errors)
    patients = linked_patients(conversation.id)
    practice = db.session.get_one(Practice, practice_id)
    message = outbox.enqueue(
        practice_id=practice_id, purpose=Purpose.CONVERSATION,
        idempotency_key=f"inbox:{conversation.id}:{token}", conversation_id=conversation.id,
        patient_id=patients[0].id if len(patients) == 1 else None,
        channel=conversation.channel, address=conversation.contact, body=text,
        subject=_subject(practice, patients) if conversation.channel == "email" else None,
        send_at=send_at, in_reply_to_id=_latest_inbound(conversation.id), staff_id=staff_id)
    media.attach(practice_id=practice_id, message_id=message.id,
                 files=[(a.filename, a.content_type, a.data) for a in attached])
    if len(patients) != 1:
        for patient in patients:
            audit.record(audit.Action.MESSAGE_SEND, patient_id=patient.id,
                         object_type="message", object_id=message.id)
    settle(conversation.id)
    conversation.last_message_at = max(now, conversation.last_message_at or now)
    mark_read(practice_id=practice_id, conversation=conversation, staff_id=staff_id)
    db.session.commit()
    return message


def cancel_scheduled(*, practice_id: int, conversation_id: int, message_id: int) -> bool:
    """Cancel a staff reply kept for later; False when it has gone (or is going) already."""
    conversation = get_conversation(practice_id, conversation_id)
    message = db.session.get(Message, message_id)
    if (message is None or message.conversation_id != conversation.id
            or message.sent_by_staff_id is None):
        return False
    cancelled = outbox.cancel_message(practice_id=practice_id, message_id=message_id,
                                      reason="cancelled by staff before sending")
    db.session.commit()
    return cancelled


def patient_language(patients: Sequence[Patient]) -> str:
    """The language to write to the conversation's patients in: theirs when they share one
    (a household may not), else English, the language every practice's messages fall back to
    (``messaging.rendering``)."""
    languages = {p.preferred_language for p in patients if p.preferred_language}
    return languages.pop() if len(languages) == 1 else Language.ENGLISH


def _subject(practice: Practice, patients: Sequence[Patient]) -> str:
    """The email reply's subject in the patients' language, not the staff member's."""
    with force_locale(patient_language(patients)):
        return _("Message from %(practice)s", practice=practice.name)


def _latest_inbound(conversation_id: int) -> int | None:
    return db.session.execute(
        select(Message.id).where(Message.conversation_id == conversation_id,
                                 Message.direction == Direction.INBOUND)
        .order_by(Message.id.desc()).limit(1)).scalar_one_or_none()


def _opted_out(conversation: Conversation) -> bool:
    return consent.is_opted_out(practice_id=conversation.practice_id, channel="sms",
                                contact_index=conversation.contact_index)

