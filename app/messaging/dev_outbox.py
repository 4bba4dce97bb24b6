"""The development outbox: what the console providers "sent", for a developer to read.

It exists only while a console provider is configured (the console adapters keep nothing
themselves: the outbox rows are the record). A developer can also queue a test text and run
the dispatcher once from the page, without a ``flask worker`` beside the web server.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from app.adapters.email import mask_email
from app.adapters.sms.base import mask_phone
from app.core.errors import FieldErrors
from app.extensions import db
from app.messaging import dispatcher, outbox
from app.messaging.models import Direction, Message, Purpose
from app.patients.models import Patient
from app.practice.models import Practice
from app.security import audit

LIMIT = 100
MAX_BATCHES = 10  # one click sends at most 1,000 messages, so the request stays short


def console_mode(config: Mapping[str, Any]) -> bool:
    return "console" in (config["SMS_PROVIDER"], config["EMAIL_PROVIDER"])


@dataclass(frozen=True)
class OutboxRow:
    id: int
    patient_id: int | None
    channel: str
    recipient: str  # masked: the last four characters of a number, the domain of an email
    status: str
    status_reason: str | None
    at: datetime  # sent (or due), in the practice's zone
    template: str | None
    subject: str | None
    body: str | None


class DevSmsError(FieldErrors):
    """The test text cannot be queued: ``errors`` maps the form field at fault to why."""


def _mask(channel: str, address: str | None) -> str:
    if not address:
        return ""
    return mask_phone(address) if channel == "sms" else mask_email(address)


def latest_outbound(*, practice_id: int, limit: int = LIMIT) -> list[OutboxRow]:
    """The newest outbound messages with their rendered text; audited (the texts are PHI)."""
    zone = ZoneInfo(db.session.get_one(Practice, practice_id).timezone)
    messages = db.session.execute(
        select(Message).where(Message.practice_id == practice_id,
                              Message.direction == Direction.OUTBOUND)
        .order_by(Message.id.desc()).limit(limit)).scalars().all()
    rows = [OutboxRow(id=m.id, patient_id=m.patient_id, channel=m.channel,
                      recipient=_mask(m.channel, m.address), status=m.status,
                      status_reason=m.status_reason,
                      at=(m.sent_at or m.send_at or m.created_at).astimezone(zone),
                      template=m.template, subject=m.subject, body=m.body)
            for m in messages]
    audit.record(audit.Action.CONVERSATION_VIEW, object_type="dev_outbox",
                 detail={"patient_ids": sorted({r.patient_id for r in rows if r.patient_id}),
                         "messages": len(rows)})
    db.session.commit()
    return rows


def queue_test_sms(*, practice_id: int, patient_id: int, body: str, staff_id: int) -> Message:
    """Queue a staff-written text to the patient's mobile, due now; commits."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise DevSmsError({"patient_id": _(
            "There is no patient with that number in this practice.")})
    if not patient.mobile_phone:
        raise DevSmsError({"patient_id": _("This patient has no mobile number on file.")})
    message = outbox.enqueue(practice_id=practice_id, patient_id=patient_id, channel="sms",
                             purpose=Purpose.CONVERSATION, body=body, staff_id=staff_id,
                             idempotency_key=f"dev-test:{uuid.uuid4().hex}")
    db.session.commit()
    return message


def send_due(*, providers: dispatcher.Providers) -> dispatcher.DispatchStats:
    """Run the dispatcher once in this process: everything due now is sent (or deferred or
    suppressed by the rules), as ``flask worker --once`` would."""
    return dispatcher.run_once(providers, max_batches=MAX_BATCHES)
