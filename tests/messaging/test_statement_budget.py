"""The two hot paths' SQL, counted: statements and commits per dispatched message and per
inbound text, the webhook's and the routing's (README, Benchmarks). The numbers do not depend
on the machine's load, so a change that brings back a query per message, or a commit, fails
here rather than only in a benchmark run. Counted on the engine (every cursor execution; an
executemany counts once)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.adapters.email.console import ConsoleEmail
from app.adapters.sending import SendResult
from app.core.clock import utcnow
from app.extensions import db
from app.messaging import dispatcher, inbound_queue, outbox
from app.messaging.models import Message, MessageStatus, Purpose
from tests import factories
from tests.conftest import on_postgres
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS, inbound_form, post_twilio
from tests.messaging.test_delivery_guarantees import midday_zone

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)

MESSAGES = 40
DISPATCH_STATEMENTS_PER_MESSAGE = 1.6  # 1.45 measured; 17.35 before batched decisions
DISPATCH_COMMITS_PER_MESSAGE = 1.15  # 1.1 measured (40 messages); 2.05 before
# The webhook stores the text (one INSERT) and the worker routes it (messaging.inbound_queue).
# Routing one: the router's lock (PostgreSQL only), the oldest waiting text, its delete, then
# the routing's own; one statement writes the conversation's inbox state and recomputes its
# derived list columns (messaging.conversations.settle); the audit event is one INSERT.
WEBHOOK_STATEMENTS = 1  # routed in the request, before the queue: 7; 12, 13 (SQLite), 14
QUEUE_STATEMENTS = 3 if on_postgres() else 2
ROUTING_STATEMENTS = QUEUE_STATEMENTS + 7  # a text for the inbox from a known patient
ROUTING_STATEMENTS_WITH_REPLY = QUEUE_STATEMENTS + 9  # HELP, its reply queued too


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    commits: int = 0


@contextmanager
def counting() -> Iterator[Counted]:
    counted = Counted()

    def statement(conn, cursor, sql, params, context, executemany):  # noqa: ANN001, ARG001
        counted.statements.append(sql.split("\n")[0][:100])

    def commit(conn) -> None:  # noqa: ANN001, ARG001
        counted.commits += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield counted
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


class CountingSms:
    name = "counting"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_sms(self, *, to, body, status_callback_url, idempotency_key, sender=None  # noqa: ANN001
                 ) -> SendResult:
        self.sent.append(to)
        return SendResult(f"SM{len(self.sent):032x}", "queued")


def test_dispatching_a_batch_costs_a_statement_and_a_commit_per_message(practice):
    now = utcnow()
    practice.timezone = midday_zone(now)  # quiet hours defer nothing, whenever this runs
    location = factories.make_location(practice, timezone=practice.timezone)
    provider = factories.make_provider(practice, locations=[location])
    patients = [factories.make_patient(practice, mobile_phone=f"+1312555{n:04d}")
                for n in range(MESSAGES // 2)]
    for person in patients[:5]:  # some have visits: their zone is their location's
        factories.make_appointment(person, provider, location,
                                   start_at=now + timedelta(days=2))
    for n in range(MESSAGES):  # templated, two to each patient, the first one capped
        outbox.enqueue(practice_id=practice.id, patient_id=patients[n % len(patients)].id,
                       purpose=Purpose.APPOINTMENT, idempotency_key=f"budget:{n}",
                       template="help_reply", capped=n < len(patients),
                       send_at=now - timedelta(minutes=1))
    db.session.commit()
    sms = CountingSms()
    providers = dispatcher.Providers(sms=sms, email=ConsoleEmail(),
                                     public_base_url="https://clinic.example")

    with counting() as counted:
        stats = dispatcher.run_once(providers, now=now)

    assert stats.sent == MESSAGES and len(sms.sent) == MESSAGES
    rows = db.session.execute(select(Message.status, Message.provider_message_id)).all()
    assert {status for status, _ in rows} == {MessageStatus.SENT}
    assert all(provider_id for _, provider_id in rows)
    per_message = len(counted.statements) / MESSAGES
    assert per_message <= DISPATCH_STATEMENTS_PER_MESSAGE, "\n".join(counted.statements)
    assert counted.commits / MESSAGES <= DISPATCH_COMMITS_PER_MESSAGE


def receive(client, form) -> tuple[Counted, Counted]:  # noqa: ANN001
    """The webhook's statements and the routing's, each counted on its own."""
    with counting() as webhook:
        response = post_twilio(client, "/webhooks/twilio/sms", form, route=False)
    assert response.status_code == 200
    with counting() as routing:
        assert inbound_queue.route_waiting(limit=1).routed == 1
    return webhook, routing


def test_an_inbound_text_costs_one_insert_then_one_transaction_of_few_statements(client,
                                                                                  practice):
    factories.make_patient(practice, mobile_phone="+13125550147")

    webhook, routing = receive(client, inbound_form("Is parking validated?"))

    assert db.session.execute(select(Message.status_reason)).scalars().all() == [None]
    assert len(webhook.statements) == WEBHOOK_STATEMENTS, "\n".join(webhook.statements)
    assert webhook.commits == 1
    assert len(routing.statements) <= ROUTING_STATEMENTS, "\n".join(routing.statements)
    assert routing.commits == 1


def test_a_keyword_with_its_reply_costs_one_transaction_of_few_statements(client, practice):
    factories.make_patient(practice, mobile_phone="+13125550147")

    webhook, routing = receive(client, inbound_form("HELP"))

    reply = db.session.execute(select(Message).where(Message.template == "help_reply")
                               ).scalar_one()
    assert reply.status == MessageStatus.SCHEDULED
    assert (len(webhook.statements), webhook.commits) == (WEBHOOK_STATEMENTS, 1)
    assert len(routing.statements) <= ROUTING_STATEMENTS_WITH_REPLY, \
        "\n".join(routing.statements)
    assert routing.commits == 1


def test_a_number_already_linked_to_its_patients_costs_one_statement_less(client, practice):
    factories.make_patient(practice, mobile_phone="+13125550147")
    post_twilio(client, "/webhooks/twilio/sms", inbound_form("Is parking validated?"))

    _, routing = receive(client, inbound_form("And the address?"))

    assert len(routing.statements) <= ROUTING_STATEMENTS - 1, "\n".join(routing.statements)
    assert routing.commits == 1
