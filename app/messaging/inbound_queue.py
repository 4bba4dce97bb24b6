"""The inbound queue: the webhook stores a verified text in one INSERT, the worker routes it.

Twilio posts every inbound text to ``/webhooks/twilio/sms``. Routing one (which practice,
which patients, keywords and consent, intents, the inbox, the audit trail) takes several
statements; the webhook does none of that. It checks the signature and the fields, stores the
webhook's fields encrypted in an ``InboundText`` row — one ``INSERT ... ON CONFLICT DO
NOTHING`` on Twilio's ``MessageSid``, so a retried webhook stores nothing new — commits and
answers. ``flask worker`` routes what is waiting at the start of every pass
(``route_waiting``), through ``inbound.receive_sms`` as before, with the time the text
arrived.

Guarantees:

* **once**: the queue row is deleted in the transaction that stores the routed ``Message``
  (``Message.provider_message_id`` is unique too), so a crash at any point routes the text
  again or not at all, never twice;
* **in order**: texts are routed oldest first, and one phone's texts by one router at a time
  (a transaction-level advisory lock per phone on PostgreSQL, where several workers route
  side by side; SQLite's single writer there), so a STOP followed by a START from the same
  phone ends subscribed. A text whose routing failed is retried after a pause while the
  phone's later texts go on: a defect must not hold a patient's next texts back;
* **never lost**: a text to a number no practice owns is kept, refused with its reason (no
  PHI), for an operator to route again once the number is set up (``flask inbound route
  --retry-refused``); a text that arrives before any practice exists, or whose routing
  fails, waits and is tried again with a growing pause.

What staff see: an inbound text reaches the inbox when the worker's pass routes it — at once
when it is idle (it polls every ``--idle-seconds``), after the batch in hand when busy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from app.core.clock import utcnow
from app.core.db import seconds_since, try_lock
from app.extensions import db
from app.messaging import inbound
from app.messaging.models import InboundText

log = logging.getLogger(__name__)

LONGEST_PAUSE = timedelta(minutes=10)
_WAITING = InboundText.refused_reason.is_(None)
_STORE = {  # built once per dialect: the webhook runs it with its values
    name: insert(InboundText.__table__).on_conflict_do_nothing(index_elements=["message_sid"])
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))}


def accept(*, message_sid: str, sender: str, body: str, to: str,
           messaging_service_sid: str = "", media: Sequence[tuple[str, str]] = ()) -> bool:
    """Store one text Twilio posted, once per ``message_sid``, and commit: True when it is
    new. ``inbound.InboundError`` names a missing or malformed field; nothing is stored."""
    inbound.check_fields(message_sid=message_sid, sender=sender)
    payload = json.dumps({"from": sender, "to": to, "body": body,
                          "messaging_service_sid": messaging_service_sid,
                          "media": [list(item) for item in media]})
    with db.engine.begin() as connection:  # one statement: no ORM session needed
        stored = connection.execute(_STORE[connection.dialect.name], {
            "message_sid": message_sid, "payload": payload, "received_at": utcnow(),
            "attempts": 0}).rowcount
    return stored == 1


@dataclass
class RoutingStats:
    routed: int = 0
    duplicates: int = 0
    refused: int = 0
    postponed: int = 0  # to be tried again later

    @property
    def handled(self) -> int:
        return self.routed + self.duplicates + self.refused + self.postponed

    def add(self, other: RoutingStats) -> None:
        self.routed += other.routed
        self.duplicates += other.duplicates
        self.refused += other.refused
        self.postponed += other.postponed


def route_waiting(*, limit: int = 200) -> RoutingStats:
    """Route up to ``limit`` due texts, oldest first, each in its own transaction. A phone
    whose earlier text another router is routing is left for later, with all its texts of
    this batch, so one phone's texts are routed in the order they arrived."""
    stats = RoutingStats()
    now = utcnow()
    batch = db.session.execute(
        select(InboundText.id, InboundText.message_sid, InboundText.payload,
               InboundText.received_at, InboundText.attempts)
        .where(_WAITING, or_(InboundText.next_attempt_at.is_(None),
                             InboundText.next_attempt_at <= now))
        .order_by(InboundText.id).limit(limit)).all()
    db.session.rollback()
    left_for_later: set[str] = set()
    for row in batch:
        fields = json.loads(row.payload)
        sender = inbound.sender_address(fields["from"].strip())
        if sender in left_for_later or not try_lock("inbound", sender):
            db.session.rollback()
            left_for_later.add(sender)
            continue
        if not _take(row.id):  # another router routed it already
            db.session.rollback()
            continue
        _route(row, fields, stats, now=now)
    return stats


def retry_refused() -> int:
    """Put every refused text back in the queue (after an operator set up the number it
    was sent to); how many."""
    count = db.session.execute(
        update(InboundText).where(InboundText.refused_reason.is_not(None))
        .values(refused_reason=None, next_attempt_at=None)).rowcount
    db.session.commit()
    return count


@dataclass(frozen=True)
class QueueFigures:
    waiting: int
    refused: int
    oldest_waiting_seconds: float


def figures(now: datetime) -> QueueFigures:
    """How many texts wait, how many are refused, and the oldest waiting one's age."""
    waiting, refused, oldest = db.session.execute(select(
        func.count().filter(_WAITING), func.count().filter(~_WAITING),
        func.min(InboundText.received_at).filter(_WAITING))).one()
    db.session.rollback()
    return QueueFigures(int(waiting), int(refused), seconds_since(oldest, now))


def _route(row: Row[Any], fields: dict[str, Any], stats: RoutingStats, *,
           now: datetime) -> None:
    """Route one text whose row this transaction has deleted, and commit; a text that
    cannot be routed now is kept (refused, or waiting to be tried again)."""
    try:
        result = inbound.receive_sms(
            message_sid=row.message_sid, sender=fields["from"], body=fields["body"],
            to=fields["to"], messaging_service_sid=fields["messaging_service_sid"],
            media=[tuple(item) for item in fields["media"]], received_at=row.received_at)
    except (inbound.UnknownRecipient, inbound.InboundError) as error:
        _keep(row.id, now=now, refused=str(error))
        log.warning("inbound text %s refused: %s", row.id, error)
        stats.refused += 1
        return
    except inbound.NoPracticeError as error:
        _keep(row.id, now=now, attempts=row.attempts, error=str(error))
        stats.postponed += 1
        return
    except OperationalError:  # the database went away: the worker waits for it
        raise
    except Exception as error:  # a defect: keep the text, try it again later
        _keep(row.id, now=now, attempts=row.attempts, error=type(error).__name__)
        log.error("inbound text %s: routing failed (%s); trying again later", row.id,
                  type(error).__name__)  # the error's text may quote the message: not logged
        stats.postponed += 1
        return
    if result.outcome is inbound.Outcome.DUPLICATE:  # routed before; its rollback kept the row
        _take(row.id)
        db.session.commit()
        stats.duplicates += 1
    else:
        stats.routed += 1
    log.info("inbound sms routed: %s (message %s)", result.outcome, result.message_id)


def _take(row_id: int) -> bool:
    """Delete the row in the routing's transaction: whatever commits the routed message
    commits this too."""
    return db.session.execute(
        delete(InboundText).where(InboundText.id == row_id)).rowcount == 1


def _keep(row_id: int, *, now: datetime, refused: str | None = None, attempts: int = 0,
          error: str | None = None) -> None:
    """Undo the routing's work and leave the text waiting (or refused), committed."""
    db.session.rollback()
    values: dict[str, object] = {"attempts": InboundText.attempts + 1,
                                 "last_error": (refused or error or "")[:200]}
    if refused:
        values["refused_reason"] = refused[:200]
    else:
        values["next_attempt_at"] = now + min(timedelta(seconds=5 * 2 ** attempts),
                                              LONGEST_PAUSE)
    db.session.execute(update(InboundText).where(InboundText.id == row_id).values(**values))
    db.session.commit()
