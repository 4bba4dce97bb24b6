"""The inbound queue: the webhook stores a verified text, the worker routes it once, in the
order texts arrived, keeping any it cannot route yet."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.core.clock import frozen_at, utcnow
from app.core.db import try_lock
from app.extensions import db
from app.messaging import consent, inbound_queue, intents
from app.messaging.conversations import contact_index
from app.messaging.models import Conversation, InboundText, Message, MessageStatus
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    SMS_HOOK,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)
from tests.messaging.test_delivery_guarantees import midday_zone

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)

BODY = "my Ravenscroft crown hurts"


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, mobile_phone=PATIENT_PHONE)


def store(client, body: str, **form: str) -> dict[str, str]:
    """Post a text as Twilio does and leave it waiting, as it is until the worker's pass."""
    fields = inbound_form(body, **form)
    response = post_twilio(client, SMS_HOOK, fields, route=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    return fields


def messages(direction: str = "inbound") -> list[Message]:
    return list(db.session.execute(select(Message).where(Message.direction == direction)
                                   .order_by(Message.id)).scalars())


def test_the_webhook_keeps_the_text_encrypted_until_routing_moves_it_to_its_conversation(
        client, patient):
    stored_at = utcnow()
    store(client, BODY)

    raw = db.session.execute(text("SELECT payload FROM inbound_text")).scalar_one()
    assert raw.startswith("fd1:") and "Ravenscroft" not in raw and "5550147" not in raw
    assert messages() == []  # nothing routed yet: the inbox shows it after the worker's pass
    assert inbound_queue.figures(utcnow()).waiting == 1

    with frozen_at(stored_at + timedelta(seconds=30)):  # the worker gets to it later
        assert inbound_queue.route_waiting().routed == 1

    [message] = messages()
    assert (message.body, message.patient_id) == (BODY, patient.id)
    conversation = db.session.get(Conversation, message.conversation_id)
    for when in (message.created_at, conversation.last_inbound_at):  # when the patient wrote
        assert abs(when - stored_at) < timedelta(seconds=5)
    assert db.session.execute(select(InboundText)).all() == []  # no copy left behind


def test_a_webhook_retried_before_or_after_routing_stores_one_message(client, patient):
    form = store(client, "Running late")
    post_twilio(client, SMS_HOOK, form, route=False)  # Twilio retried before the worker ran
    assert inbound_queue.figures(utcnow()).waiting == 1
    assert inbound_queue.route_waiting().routed == 1

    post_twilio(client, SMS_HOOK, form, route=False)  # and once more, after
    stats = inbound_queue.route_waiting()

    assert (stats.routed, stats.duplicates) == (0, 1)
    assert [m.body for m in messages()] == ["Running late"]
    assert inbound_queue.figures(utcnow()).waiting == 0


def test_texts_from_one_phone_are_routed_in_the_order_they_arrived(client, practice, patient):
    store(client, "STOP")
    store(client, "START")

    assert inbound_queue.route_waiting().routed == 2

    assert not consent.is_opted_out(practice_id=practice.id, channel="sms",
                                    contact_index=contact_index("sms", PATIENT_PHONE))
    assert [m.template for m in messages("outbound")] == ["opt_out_confirmation",
                                                          "opt_in_confirmation"]


def test_a_routing_that_fails_keeps_the_text_and_tries_again_later(client, patient,
                                                                   monkeypatch, caplog):
    real_dispatch = intents.dispatch

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError(f"could not read {BODY}")

    monkeypatch.setattr(intents, "dispatch", broken)
    caplog.set_level(logging.INFO, logger="app.messaging")
    store(client, BODY)

    stats = inbound_queue.route_waiting()

    assert (stats.routed, stats.postponed) == (0, 1)
    assert messages() == [] and db.session.execute(select(Conversation)).all() == []
    row = db.session.execute(select(InboundText)).scalar_one()
    assert (row.attempts, row.last_error, row.refused_reason) == (1, "RuntimeError", None)
    assert row.next_attempt_at > utcnow()
    assert "routing failed (RuntimeError)" in caplog.text
    assert "Ravenscroft" not in caplog.text and "5550147" not in caplog.text
    assert inbound_queue.route_waiting().handled == 0  # not before its pause

    monkeypatch.setattr(intents, "dispatch", real_dispatch)
    with frozen_at(utcnow() + timedelta(minutes=1)):
        assert inbound_queue.route_waiting().routed == 1
    assert [m.body for m in messages()] == [BODY]


def test_the_worker_routes_waiting_texts_and_sends_their_replies_in_the_same_pass(
        app, client, patient):
    store(client, "HELP")

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "sent 1," in result.output and "inbound texts routed 1" in result.output
    [reply] = messages("outbound")
    assert (reply.template, reply.status) == ("help_reply", MessageStatus.SENT)


def test_one_router_per_phone_at_a_time_on_postgresql(app, client, patient, postgres_only):
    store(client, "Is parking validated?")  # from the patient's phone
    store(client, "Running late", sender="+13125550199")  # from another phone
    holding, release = threading.Event(), threading.Event()

    def another_router() -> None:  # in the middle of routing a text from the patient's phone
        with app.app_context():
            assert try_lock("inbound", PATIENT_PHONE)
            holding.set()
            release.wait(timeout=30)
            db.session.rollback()

    other = threading.Thread(target=another_router)
    other.start()
    try:
        assert holding.wait(timeout=30)
        assert inbound_queue.route_waiting().routed == 1  # the other phone's text only
        assert [m.body for m in messages()] == ["Running late"]
    finally:
        release.set()
        other.join(timeout=30)
    assert inbound_queue.route_waiting().routed == 1
    assert inbound_queue.figures(utcnow()).waiting == 0


def test_a_defect_in_routing_does_not_stop_the_worker_sending(app, client, practice, patient,
                                                              monkeypatch, caplog):
    practice.timezone = midday_zone(utcnow())  # quiet hours defer nothing, whenever this runs
    db.session.commit()
    store(client, BODY)
    factories.make_message(patient, status="scheduled", send_at=utcnow() - timedelta(minutes=1))

    def broken(**kwargs):  # noqa: ANN003, ANN202
        raise ValueError(f"cannot read {BODY}")

    monkeypatch.setattr(inbound_queue, "route_waiting", broken)
    caplog.set_level(logging.ERROR, logger="app.messaging")
    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "sent 1," in result.output  # the due message still went
    assert "routing inbound texts failed (ValueError)" in caplog.text
    assert "Ravenscroft" not in caplog.text
    assert inbound_queue.figures(utcnow()).waiting == 1  # kept for the next pass
