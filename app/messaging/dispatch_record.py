"""Writing what happened to a message the dispatcher handled, with as few statements as the
exactly-once story allows (see ``dispatcher``).

A send the provider accepted is recorded by ``Recorder``: the provider's id is kept in memory
and written, for up to ``RECORD_EVERY`` messages or ``RECORD_WITHIN`` seconds at once, by one
executemany UPDATE in the transaction that prepares the next message (or the batch's last
commit). A worker killed before that commit leaves those rows in ``sending`` with what they
were about to send, which reconciliation asks the provider about, as it does for a kill during
the provider call. A status callback may
already have moved the message on (to delivered, say) before the record: it never moves back.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, update

from app.extensions import db
from app.messaging.models import Message, MessageStatus

RECORD_EVERY = 10
RECORD_WITHIN = 1.0  # seconds

_TABLE = Message.__table__
_STILL_SENDING = _TABLE.c.status == MessageStatus.SENDING
_AT = bindparam("record_at", type_=_TABLE.c.sent_at.type)
_RECORD_SENT = (
    update(_TABLE).where(_TABLE.c.id == bindparam("record_id")).values(
        provider_message_id=bindparam("record_sid"),
        sent_at=func.coalesce(_TABLE.c.sent_at, _AT),
        status=case((_STILL_SENDING, MessageStatus.SENT.value), else_=_TABLE.c.status),
        status_reason=case((_STILL_SENDING, None), else_=_TABLE.c.status_reason),
        error_code=case((_STILL_SENDING, None), else_=_TABLE.c.error_code),
        updated_at=_AT))


_PREPARED_AT = bindparam("prepared_at", type_=_TABLE.c.sending_started_at.type)
_PREPARE = (  # built once: the dispatcher runs it for every message it sends
    update(_TABLE).where(
        _TABLE.c.id == bindparam("prepare_id"), _STILL_SENDING,
        _TABLE.c.sending_started_at == bindparam("claimed_at",
                                                 type_=_TABLE.c.sending_started_at.type))
    .values(sending_started_at=_PREPARED_AT, updated_at=_PREPARED_AT,
            channel=bindparam("prepare_channel"), address=bindparam("prepare_address"),
            body=bindparam("prepare_body"), subject=bindparam("prepare_subject"),
            conversation_id=bindparam("prepare_conversation_id")))


def write_what_is_sent(*, message_id: int, claimed_at: datetime, now: datetime, channel: str,
                       address: str, body: str, subject: str | None,
                       conversation_id: int | None) -> bool:
    """Write on the message, claimed at ``claimed_at``, what is about to be sent (the caller
    commits before sending): False when it is no longer this claim's (reconciled as stale
    and claimed again meanwhile), and nothing is written."""
    return db.session.execute(_PREPARE, {
        "prepare_id": message_id, "claimed_at": claimed_at, "prepared_at": now,
        "prepare_channel": channel, "prepare_address": address, "prepare_body": body,
        "prepare_subject": subject, "prepare_conversation_id": conversation_id}).rowcount == 1


class Recorder:
    """The provider ids of messages sent and not yet written."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._since = 0.0

    def add(self, message_id: int, provider_message_id: str, sent_at: datetime) -> None:
        if not self._pending:
            self._since = time.monotonic()
        self._pending.append({"record_id": message_id, "record_sid": provider_message_id,
                              "record_at": sent_at})

    def flush_if_due(self) -> None:
        """``flush`` once ``RECORD_EVERY`` records wait or the oldest is ``RECORD_WITHIN``
        old."""
        if len(self._pending) >= RECORD_EVERY or (
                self._pending and time.monotonic() - self._since >= RECORD_WITHIN):
            self.flush()

    def flush(self) -> None:
        """Write the pending records into the current transaction (the caller commits)."""
        if self._pending:
            db.session.execute(_RECORD_SENT, self._pending)
            self._pending = []


def set_values(message_id: int, *, now: datetime, commit: bool = True, **values: Any) -> None:
    """Write ``values`` on one message (a Core UPDATE: the dispatcher holds no ORM row once
    its batch is decided), and commit unless told not to."""
    db.session.execute(update(_TABLE).where(_TABLE.c.id == message_id)
                       .values(updated_at=now, **values))
    if commit:
        db.session.commit()
