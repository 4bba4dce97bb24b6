"""What /healthz, /readyz and /metrics report about the database, the outbox and the inbound
queue: counts and ages only, read across practices with Core statements (no rows of anyone's
data)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.config import PROJECT_ROOT
from app.core.clock import utcnow
from app.core.db import seconds_since
from app.extensions import db
from app.messaging import inbound_queue
from app.messaging.models import Message, MessageStatus

OUTBOX_STATES = (MessageStatus.SCHEDULED, MessageStatus.SENDING)


@cache
def migration_heads() -> frozenset[str]:
    """The revisions the code's migrations end at."""
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def readiness() -> dict[str, str]:
    """``{"database": "ok"|"unreachable", "migrations": "at head"|"behind"|"unknown"}``."""
    try:
        applied = frozenset(db.session.execute(
            text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:
        db.session.rollback()
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            return {"database": "unreachable", "migrations": "unknown"}
        return {"database": "ok", "migrations": "behind"}
    db.session.rollback()
    return {"database": "ok",
            "migrations": "at head" if applied == migration_heads() else "behind"}


def live() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    db.session.rollback()
    return True


def outbox_figures(now: datetime) -> tuple[dict[str, int], int, float]:
    """Outbound messages per outbox state, how many are due now, and the age in seconds of
    the oldest due one (0 when none is due)."""
    table = Message.__table__
    outbound = table.c.direction == "outbound"
    by_state = dict(db.session.execute(
        select(table.c.status, func.count())
        .where(outbound, table.c.status.in_([s.value for s in OUTBOX_STATES]))
        .group_by(table.c.status)).all())
    due_count, oldest = db.session.execute(
        select(func.count(), func.min(table.c.send_at))
        .where(outbound, table.c.status == MessageStatus.SCHEDULED.value,
               table.c.send_at <= now)).one()
    db.session.rollback()
    return ({state.value: int(by_state.get(state.value, 0)) for state in OUTBOX_STATES},
            int(due_count), seconds_since(oldest, now))


class OutboxCollector(Collector):
    """The outbox gauges, read from the database at scrape time (every process agrees)."""

    def collect(self):  # type: ignore[no-untyped-def]
        by_state, due, age = outbox_figures(utcnow())
        depth = GaugeMetricFamily("frontdesk_outbox_messages",
                                  "Outbound messages waiting in the outbox, by state.",
                                  labels=["state"])
        for state, count in by_state.items():
            depth.add_metric([state], count)
        yield depth
        yield GaugeMetricFamily("frontdesk_outbox_due_messages",
                                "Scheduled messages whose send time has come.", value=due)
        yield GaugeMetricFamily("frontdesk_outbox_oldest_due_seconds",
                                "Age of the oldest due message (0: none due).", value=age)


class InboundQueueCollector(Collector):
    """The inbound queue's gauges: texts stored by the webhook that the worker has not
    routed yet (a growing number or age: no worker is running, or it cannot keep up), and
    texts refused because no practice owns the number they were sent to."""

    def collect(self):  # type: ignore[no-untyped-def]
        figures = inbound_queue.figures(utcnow())
        yield GaugeMetricFamily("frontdesk_inbound_waiting_texts",
                                "Inbound texts stored but not routed yet.",
                                value=figures.waiting)
        yield GaugeMetricFamily("frontdesk_inbound_oldest_waiting_seconds",
                                "Age of the oldest inbound text waiting (0: none).",
                                value=figures.oldest_waiting_seconds)
        yield GaugeMetricFamily("frontdesk_inbound_refused_texts",
                                "Inbound texts sent to a number no practice owns, kept for "
                                "an operator (flask inbound route --retry-refused).",
                                value=figures.refused)
