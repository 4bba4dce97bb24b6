"""Whether the signed-in practice's messages are being held up by the machinery rather than
by the rules: a provider's circuit is open (``delayed: ...``, ``messaging.circuit``) or due
messages have waited past ``OVERDUE`` (no worker is keeping up). Staff screens show a banner
meanwhile (``messages_delayed()`` in templates)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_login import current_user
from sqlalchemy import exists, or_, select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Message, MessageStatus

OVERDUE = timedelta(minutes=10)


def messages_delayed() -> bool:
    """For templates: True while the current staff member's practice has delayed messages."""
    if not current_user.is_authenticated:
        return False
    return practice_has_delays(now=utcnow())


def practice_has_delays(*, now: datetime) -> bool:
    """Within the practice the unit of work acts for."""
    return bool(db.session.execute(select(exists().where(
        Message.direction == "outbound", Message.status == MessageStatus.SCHEDULED,
        or_(Message.status_reason.like("delayed:%"), Message.send_at < now - OVERDUE),
    ))).scalar())
