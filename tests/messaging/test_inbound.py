"""Inbound texts through the signed Twilio webhook: keywords, consent, replies, the inbox."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from app.core.clock import frozen_at, utcnow
from app.extensions import db
from app.messaging import consent, inbound_queue, outbox, policy
from app.messaging.conversations import contact_index
from app.messaging.inbound import LIKELY_OPT_OUT
from app.messaging.models import (
    ConsentEntry,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Purpose,
)
from app.security.models import AuditEvent
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
    twilio_signature,
)

SMS_HOOK = "/webhooks/twilio/sms"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, mobile_phone=PATIENT_PHONE)


def text_in(client, body, **form):
    response = post_twilio(client, SMS_HOOK, inbound_form(body, **form))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    assert response.data == EMPTY_TWIML
    return response


def inbound_messages():
    return db.session.execute(select(Message).where(Message.direction == Direction.INBOUND)
                              .order_by(Message.id)).scalars().all()


def outbound_messages():
    return db.session.execute(select(Message).where(Message.direction == Direction.OUTBOUND)
                              .order_by(Message.id)).scalars().all()


def opted_out(practice, phone=PATIENT_PHONE):
    return consent.is_opted_out(practice_id=practice.id, channel="sms",
                                contact_index=contact_index("sms", phone))


def opt_out_first(practice):
    consent.record(practice_id=practice.id, channel="sms",
                   contact_index=contact_index("sms", PATIENT_PHONE), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.KEYWORD)
    db.session.commit()


OPT_OUT = ("opted out", "opt_out_confirmation")
OPT_IN = ("subscribed", "opt_in_confirmation")


@pytest.mark.parametrize(("body", "opted_out_before", "expected"), [
    ("STOP", False, OPT_OUT),
    ("stop", False, OPT_OUT),
    (" Stop. ", False, OPT_OUT),
    ("STOPALL", False, OPT_OUT),
    ("UNSUBSCRIBE", False, OPT_OUT),
    ("CANCEL", False, OPT_OUT),
    ("END", False, OPT_OUT),
    ("QUIT", False, OPT_OUT),
    ("REVOKE", False, OPT_OUT),
    ("OPTOUT", False, OPT_OUT),
    ("opt out", False, OPT_OUT),
    ("START", True, OPT_IN),
    ("unstop", True, OPT_IN),
    ("YES", True, OPT_IN),
    ("Yes", False, ("subscribed", None)),  # not a keyword unless opted out: for the inbox
    ("HELP", False, ("subscribed", "help_reply")),
    ("info", False, ("subscribed", "help_reply")),
    ("HELP", True, ("opted out", "help_reply")),  # asking for help changes no consent
])
def test_keyword_table(client, practice, patient, body, opted_out_before, expected):
    if opted_out_before:
        opt_out_first(practice)
    state, template = expected

    text_in(client, body)

    assert opted_out(practice) is (state == "opted out")
    (inbound,) = inbound_messages()
    replies = outbound_messages()
    assert [r.template for r in replies] == ([template] if template else [])
    conversation = db.session.get(Conversation, inbound.conversation_id)
    assert conversation.unread is (template is None)  # a handled keyword leaves nothing to do
    if template:
        (reply,) = replies
        assert reply.in_reply_to_id == inbound.id
        assert reply.is_immediate_reply and reply.purpose == Purpose.SYSTEM
        assert (reply.channel, reply.address, reply.patient_id) == ("sms", PATIENT_PHONE,
                                                                   patient.id)
        assert reply.idempotency_key.startswith(f"reply:{inbound.id}:")
        assert reply.conversation_id == conversation.id
        assert json.loads(reply.context) == {"practice": {"name": "Lakeside Family Dental",
                                                          "phone": "(312) 555-0100"}}


def test_stop_is_recorded_in_the_ledger_against_the_message(client, practice, patient):
    text_in(client, "STOP")

    (entry,) = db.session.execute(select(ConsentEntry)).scalars().all()
    (inbound,) = inbound_messages()
    assert (entry.channel, entry.purpose, entry.granted, entry.source) == (
        "sms", "all", False, "keyword")
    assert (entry.message_id, entry.patient_id) == (inbound.id, patient.id)
    assert inbound.status_reason == "opt_out"


def test_after_stop_only_the_confirmation_may_reach_the_number_until_start(
        client, practice, patient):
    text_in(client, "STOP")
    reminder = outbox.enqueue(practice_id=practice.id, patient_id=patient.id,
                              purpose=Purpose.APPOINTMENT, idempotency_key="reminder:1:24h",
                              template="help_reply", channel="sms")
    db.session.commit()
    (confirmation,) = [m for m in outbound_messages() if m.template == "opt_out_confirmation"]

    assert policy.decide(confirmation).allowed
    decision = policy.decide(reminder)
    assert not decision.allowed and decision.defer_until is None
    assert "opted out" in decision.reason
    for purpose in Purpose:
        assert not consent.state(practice_id=practice.id, channel="sms",
                                 contact_index=contact_index("sms", PATIENT_PHONE),
                                 purpose=purpose).allowed

    text_in(client, "START")

    assert consent.state(practice_id=practice.id, channel="sms",
                         contact_index=contact_index("sms", PATIENT_PHONE),
                         purpose=Purpose.APPOINTMENT).allowed
    (welcome,) = [m for m in outbound_messages() if m.template == "opt_in_confirmation"]
    assert policy.decide(welcome).allowed


def test_a_replayed_webhook_stores_one_message_and_queues_one_reply(client, practice, patient):
    form = inbound_form("STOP")
    for _ in range(3):
        response = post_twilio(client, SMS_HOOK, form)
        assert response.status_code == 200 and response.data == EMPTY_TWIML

    assert len(inbound_messages()) == 1
    assert [m.template for m in outbound_messages()] == ["opt_out_confirmation"]
    assert db.session.scalar(select(func.count()).select_from(ConsentEntry)) == 1


def test_a_forged_signature_is_refused_and_nothing_is_stored(client, practice, patient):
    form = inbound_form("STOP")
    forged = post_twilio(client, SMS_HOOK, form, signature="bm90IHRoZSBzaWduYXR1cmU=")
    missing = client.post(SMS_HOOK, data=form)
    tampered = post_twilio(client, SMS_HOOK, {**form, "Body": "START"},
                           signature=twilio_signature(SMS_HOOK, form))
    other_token = post_twilio(client, SMS_HOOK, form,
                              signature=twilio_signature(SMS_HOOK, form, token="not-ours"))

    for response in (forged, missing, tampered, other_token):
        assert response.status_code == 403
        assert response.mimetype == "text/plain"
        assert b"Response" not in response.data
    assert inbound_messages() == []
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
    assert not opted_out(practice)


def test_an_unknown_number_opens_a_conversation_without_a_patient(client, practice, patient):
    text_in(client, "Hi, do you take new patients?", sender="+13125550999")

    (message,) = inbound_messages()
    conversation = db.session.get(Conversation, message.conversation_id)
    assert message.patient_id is None
    assert conversation.patients == []
    assert conversation.unread and conversation.last_message_at is not None
    assert conversation.contact == "+13125550999"
    assert message.status == MessageStatus.RECEIVED and message.status_reason is None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_household_phone_is_one_conversation_with_every_patient(client, practice):
    parent = factories.make_patient(practice, mobile_phone=PATIENT_PHONE)
    child = factories.make_patient(practice, given_name="Leo", mobile_phone=PATIENT_PHONE)
    factories.make_patient(practice, mobile_phone="+13125550148")

    text_in(client, "Can we move both cleanings to Friday?")
    text_in(client, "Thanks!")

    first, second = inbound_messages()
    assert first.conversation_id == second.conversation_id
    assert first.patient_id is None  # which of them wrote is for staff to tell
    conversation = db.session.get(Conversation, first.conversation_id)
    assert sorted(p.id for p in conversation.patients) == [parent.id, child.id]
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1


def test_a_known_patient_is_linked_and_the_receipt_audited_without_phi(client, practice,
                                                                       patient):
    text_in(client, "Running 5 minutes late")

    (message,) = inbound_messages()
    assert message.patient_id == patient.id
    assert message.body == "Running 5 minutes late"
    (event,) = db.session.execute(select(AuditEvent)).scalars().all()
    assert (event.action, event.patient_id, event.object_id) == (
        "message.receive", patient.id, str(message.id))
    assert "late" not in event.detail


def test_free_text_revocation_lands_unread_flagged_as_likely_opt_out(client, practice,
                                                                     patient):
    text_in(client, "please stop texting me")
    text_in(client, "can I stop by at 3 to drop off the form?")

    flagged, ordinary = inbound_messages()
    assert flagged.status_reason == LIKELY_OPT_OUT
    assert ordinary.status_reason is None
    assert db.session.get(Conversation, flagged.conversation_id).unread
    assert not opted_out(practice)  # staff confirm with one click; the text alone does not
    assert outbound_messages() == []


def test_a_new_message_reopens_a_closed_conversation(client, practice, patient):
    text_in(client, "Thanks, see you then")
    (message,) = inbound_messages()
    conversation = db.session.get(Conversation, message.conversation_id)
    conversation.closed, conversation.unread = True, False
    db.session.commit()

    text_in(client, "Actually, one more question")

    conversation = db.session.get(Conversation, message.conversation_id)
    assert conversation.unread and not conversation.closed


def test_a_short_code_sender_is_stored_as_sent(client, practice):
    text_in(client, "Your carrier balance is low", sender="24273")

    (message,) = inbound_messages()
    conversation = db.session.get(Conversation, message.conversation_id)
    assert message.address == "24273"
    assert conversation.contact_index == contact_index("sms", "24273")


def test_the_shared_inbound_sample_is_stored(client, practice, shared_testdata):
    raw = (shared_testdata / "webhooks" / "twilio" / "inbound-sms-no-media.form-urlencoded.txt"
           ).read_text().strip()
    form = dict(parse_qsl(raw, keep_blank_values=True))
    practice.sms_from_number = form["To"]  # the sample's (made-up) number is this practice's
    db.session.commit()
    response = post_twilio(client, SMS_HOOK, form)

    assert response.status_code == 200 and response.data == EMPTY_TWIML
    (message,) = inbound_messages()
    assert message.provider_message_id == form["MessageSid"]
    assert message.body == "Hello"
    assert message.address == "+571138050810"  # not a valid number: kept as Twilio sent it


@pytest.mark.parametrize(("field", "message"), [
    ("MessageSid", b"MessageSid: missing"),
    ("From", b"From: missing"),
])
def test_a_signed_request_without_a_required_field_is_a_400_naming_it(client, practice,
                                                                       field, message):
    form = inbound_form("hello")
    del form[field]
    response = post_twilio(client, SMS_HOOK, form)
    assert response.status_code == 400
    assert response.data == message
    assert inbound_messages() == []


def test_a_text_that_arrives_before_any_practice_waits_for_one(app, client):
    response = post_twilio(client, SMS_HOOK, inbound_form("hello"))

    assert response.status_code == 200  # stored: Twilio does not retry, so we keep it
    assert inbound_messages() == []
    assert inbound_queue.figures(utcnow()).waiting == 1
    practice = factories.make_practice()
    with frozen_at(utcnow() + timedelta(minutes=1)):  # after its pause
        assert inbound_queue.route_waiting().routed == 1
    assert [(m.practice_id, m.body) for m in inbound_messages()] == [(practice.id, "hello")]
    assert inbound_queue.figures(utcnow()).waiting == 0


def test_concurrent_retries_of_one_message_store_it_once(app, practice, patient):
    form = inbound_form("STOP")
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(post_twilio(client, SMS_HOOK, form).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 4
    db.session.expire_all()
    assert len(inbound_messages()) == 1
    assert [m.template for m in outbound_messages()] == ["opt_out_confirmation"]
