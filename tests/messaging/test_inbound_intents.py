"""Intent handlers get a text after the keywords and before the inbox; the webhook stays
cheap: a handful of queries and never a provider call."""

from __future__ import annotations

import pytest
import responses
from sqlalchemy import event, select

from app.extensions import db
from app.messaging import intents
from app.messaging.models import Conversation, Direction, Message
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

SMS_HOOK = "/webhooks/twilio/sms"


pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, mobile_phone=PATIENT_PHONE)


@pytest.fixture
def calls(monkeypatch):
    """Register handlers for one test only; records what each was given."""
    monkeypatch.setattr(intents, "_handlers", [])
    seen: list[tuple[str, int, list[int], str]] = []

    def confirm(message, patients, text):
        seen.append(("confirm", message.id, [p.id for p in patients], text))
        return text == "C"

    def waitlist(message, patients, text):
        seen.append(("waitlist", message.id, [p.id for p in patients], text))
        return text == "1"

    intents.register_intent_handler(confirm)
    intents.register_intent_handler(waitlist)
    intents.register_intent_handler(confirm)  # a second registration changes nothing
    return seen


def inbound():
    return db.session.execute(select(Message).where(Message.direction == Direction.INBOUND)
                              .order_by(Message.id.desc())).scalars().first()


def test_a_registered_handler_takes_the_message_before_the_inbox(client, patient, calls):
    assert post_twilio(client, SMS_HOOK, inbound_form(" c. ")).status_code == 200

    message = inbound()
    assert calls == [("confirm", message.id, [patient.id], "C")]  # the later one never ran
    assert message.status_reason == "intent"
    conversation = db.session.get(Conversation, message.conversation_id)
    assert not conversation.unread and conversation.last_message_at is not None


def test_handlers_run_in_order_until_one_takes_it(client, patient, calls):
    post_twilio(client, SMS_HOOK, inbound_form("1"))

    assert [name for name, *_ in calls] == ["confirm", "waitlist"]
    assert inbound().status_reason == "intent"


def test_a_text_no_handler_takes_goes_to_the_inbox(client, patient, calls):
    post_twilio(client, SMS_HOOK, inbound_form("What time is my appointment?"))

    assert len(calls) == 2
    message = inbound()
    assert message.status_reason is None
    assert db.session.get(Conversation, message.conversation_id).unread


def test_keywords_come_before_any_handler(client, patient, monkeypatch):
    monkeypatch.setattr(intents, "_handlers", [])
    intents.register_intent_handler(lambda message, patients, text: True)

    for body in ("STOP", "START", "HELP"):
        post_twilio(client, SMS_HOOK, inbound_form(body))
        assert inbound().status_reason != "intent"


def test_the_webhook_makes_no_provider_call_and_few_queries(make_app, client, patient):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        statements.append(statement)

    app = make_app(**WEBHOOK_SETTINGS, SMS_PROVIDER="twilio",
                   TWILIO_ACCOUNT_SID="AC" + "a1" * 16, TWILIO_FROM_NUMBER="+13125550100")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        # No URL is registered: any HTTP call from the webhook would fail the request.
        with responses.RequestsMock(assert_all_requests_are_fired=False):
            response = post_twilio(app.test_client(), SMS_HOOK, inbound_form("STOP"))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert response.status_code == 200
    assert inbound().status_reason == "opt_out"
    assert len(statements) <= 24, statements  # 19 on SQLite, 21 on PostgreSQL (audit locks)
