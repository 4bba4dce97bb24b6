"""Whether the signed-in practice's messages are being held up by the machinery rather than
by the rules: a provider's circuit is open (``delayed: ...``, ``messaging.circuit``) or due
messages have waited past ``OVERDUE`` (no worker is keeping up); and whether texts patients
sent wait in the inbound queue past ``INBOUND_OVERDUE`` (no worker is routing them: the
queue is the deployment's, so every practice is told). Staff screens show a banner for each
meanwhile (``message_delays()`` in templates, one query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_login import current_user
from sqlalchemy import exists, or_, select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import InboundText, Message, MessageStatus

OVERDUE = timedelta(minutes=10)
INBOUND_OVERDUE = timedelta(minutes=2)  # the worker routes within seconds when it runs


@dataclass(frozen=True)
class Delays:
    outbound: bool = False  # messages to patients held up
    inbound: bool = False  # texts from patients not routed yet


def message_delays() -> Delays:
    """For templates: the current staff member's practice's delays (none when signed out)."""
    if not current_user.is_authenticated:
        return Delays()
    return practice_delays(now=utcnow())


def practice_delays(*, now: datetime) -> Delays:
    """Within the practice the unit of work acts for (outbound); the deployment's inbound
    queue (inbound)."""
    outbound, inbound = db.session.execute(select(
        exists().where(
            Message.direction == "outbound", Message.status == MessageStatus.SCHEDULED,
            or_(Message.status_reason.like("delayed:%"), Message.send_at < now - OVERDUE)),
        exists().where(InboundText.refused_reason.is_(None),
                       InboundText.received_at < now - INBOUND_OVERDUE))).one()
    return Delays(outbound=bool(outbound), inbound=bool(inbound))
