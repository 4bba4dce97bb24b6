"""Canned replies: texts managers keep for the composer, with variables filled in for the
conversation's patient when inserted: ``{first_name}``, ``{next_appointment}`` (its day and
time in the location's zone), ``{practice_phone}`` and ``{booking_link}`` (the online booking
page, the panel's "send the booking link"). An unknown ``{name}`` is refused when
the reply is saved, so no patient ever receives a raw placeholder."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from app.core import phones
from app.core.errors import FieldErrors
from app.extensions import db
from app.inbox.models import CannedReply
from app.inbox.threads import get_conversation, linked_patients
from app.practice.models import Practice
from app.scheduling.queries import upcoming_appointments
from app.web.public_url import public_url

VARIABLES = ("first_name", "next_appointment", "practice_phone", "booking_link")
MAX_TITLE = 80
MAX_BODY = 1600
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class CannedRefused(FieldErrors):
    """The canned reply cannot be saved or used (``title``, ``body``, ``canned``)."""


def active_replies(*, practice_id: int) -> list[CannedReply]:
    return list(db.session.execute(
        select(CannedReply).where(CannedReply.practice_id == practice_id,
                                  CannedReply.active.is_(True))
        .order_by(CannedReply.title)).scalars())


def all_replies(*, practice_id: int) -> list[CannedReply]:
    return list(db.session.execute(
        select(CannedReply).where(CannedReply.practice_id == practice_id)
        .order_by(CannedReply.active.desc(), CannedReply.title)).scalars())


def save(*, practice_id: int, title: str, body: str, active: bool = True,
         reply_id: int | None = None) -> CannedReply:
    """Add or change one; commits."""
    title, body = " ".join(title.split()), body.strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Give it a short title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("Use at most %(max)d characters.", max=MAX_TITLE)
    unknown = sorted({name for name in _PLACEHOLDER.findall(body) if name not in VARIABLES})
    if not body:
        errors["body"] = _("Write the reply.")
    elif len(body) > MAX_BODY:
        errors["body"] = _("Use at most %(max)d characters.", max=MAX_BODY)
    elif unknown:
        errors["body"] = _("Unknown variable %(name)s: use %(known)s.",
                           name="{" + unknown[0] + "}",
                           known=", ".join("{" + v + "}" for v in VARIABLES))
    clash = db.session.execute(select(CannedReply.id).where(
        CannedReply.practice_id == practice_id, CannedReply.title == title)).scalar()
    if title and clash is not None and clash != reply_id:
        errors["title"] = _("Another canned reply has this title.")
    reply = db.session.get(CannedReply, reply_id) if reply_id is not None else None
    if reply_id is not None and (reply is None or reply.practice_id != practice_id):
        errors["title"] = _("That canned reply no longer exists.")
    if errors:
        raise CannedRefused(errors)
    if reply is None:
        reply = CannedReply(practice_id=practice_id)
        db.session.add(reply)
    reply.title, reply.body, reply.active = title, body, active
    db.session.commit()
    return reply


def filled(*, practice_id: int, conversation_id: int, reply_id: int) -> str:
    """The canned reply's text for this conversation's patient (the first linked one);
    a variable with nothing to fill (no patient, no upcoming visit) is left out."""
    conversation = get_conversation(practice_id, conversation_id)  # not ours: not found
    reply = db.session.get(CannedReply, reply_id)
    if reply is None or reply.practice_id != practice_id or not reply.active:
        raise CannedRefused({"canned": _("Choose one of the canned replies offered.")})
    patients = linked_patients(conversation.id)
    practice = db.session.get_one(Practice, practice_id)
    values = {"practice_phone": phones.display(practice.phone), "first_name": "",
              "next_appointment": "", "booking_link": public_url("book.start")}
    if patients:
        values["first_name"] = patients[0].given_name
        upcoming = upcoming_appointments(patient_id=patients[0].id, limit=1)
        if upcoming:
            visit = upcoming[0]
            values["next_appointment"] = format_datetime(
                visit.start_at, "EEEE d MMMM, h:mm a",
                tzinfo=ZoneInfo(visit.location.timezone),
                locale=patients[0].preferred_language or "en")
    db.session.commit()
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), reply.body)
    return re.sub(r"[ \t]{2,}", " ", text).replace(" ,", ",")


def variables_text() -> str:
    return ", ".join("{" + name + "}" for name in VARIABLES)
