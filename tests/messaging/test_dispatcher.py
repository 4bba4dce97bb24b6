"""The dispatcher drives the real twilio SDK (intercepted by ``responses``) and applies the
send-time rules: consent, usable contact points, quiet hours, caps, retries, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import text

from app.adapters.email.console import ConsoleEmail
from app.adapters.sms.twilio import TwilioSms
from app.extensions import db
from app.messaging import consent, dispatcher, outbox
from app.messaging.conversations import contact_index
from app.messaging.models import Conversation, Message, MessageStatus, Purpose
from tests import factories

SID = "AC" + "a1" * 16
SERVICE = "MG" + "b2" * 16
MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
# 15:00 UTC = 09:00 in Chicago (inside the 08:00-21:00 window) on an ordinary weekday.
NOON = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def twilio_message(sid: str, body: str, to: str, status: str = "queued",
                   created: str = "Wed, 02 Dec 2026 15:00:01 +0000") -> dict:
    return {"account_sid": SID, "api_version": "2010-04-01", "body": body,
            "date_created": created, "date_sent": None, "date_updated": created,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": None, "messaging_service_sid": SERVICE, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            "status": status, "subresource_uris": {}, "to": to,
            "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json"}


def twilio_error(code: int, status: int) -> dict:
    return {"code": code, "message": f"error {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def providers():
    return dispatcher.Providers(
        sms=TwilioSms(account_sid=SID, auth_token="f" * 32, messaging_service_sid=SERVICE,
                      timeout=5.0),
        email=ConsoleEmail(), public_base_url="https://clinic.example")


@pytest.fixture
def clinic(practice):
    location = factories.make_location(practice, timezone="America/Chicago")
    provider = factories.make_provider(practice, locations=[location])
    return practice, location, provider


def queue(patient, key="k1", *, purpose=Purpose.APPOINTMENT, send_at=NOON, **extra):
    extra.setdefault("template", "help_reply")
    message = outbox.enqueue(practice_id=patient.practice_id, patient_id=patient.id,
                             purpose=purpose, idempotency_key=key, send_at=send_at, **extra)
    db.session.commit()
    return message


def reload(message):
    db.session.expire_all()
    return db.session.get(Message, message.id)


def test_due_message_is_sent_through_twilio_with_a_status_callback(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550147")
    message = queue(patient)
    mocked.post(MESSAGES, status=201,
                json=twilio_message("SM" + "1" * 32, "x", "+13125550147"))

    stats = dispatcher.run_once(providers, now=NOON)

    assert stats.sent == 1
    sent = parse_qs(mocked.calls[0].request.body)
    assert sent["To"] == ["+13125550147"]
    assert sent["MessagingServiceSid"] == [SERVICE]
    assert sent["StatusCallback"] == [
        f"https://clinic.example/webhooks/twilio/status?m={message.id}"]
    assert sent["Body"][0].startswith(f"{practice.name}: appointment and account messages")
    message = reload(message)
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == "SM" + "1" * 32
    conversation = db.session.get(Conversation, message.conversation_id)
    assert [p.id for p in conversation.patients] == [patient.id]


def test_what_is_sent_is_stored_encrypted(mocked, providers, clinic):
    """The dispatcher writes the address and text it sends before sending them: as
    ciphertext, like every PHI column."""
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550147")
    message = queue(patient)
    mocked.post(MESSAGES, status=201,
                json=twilio_message("SM" + "1" * 32, "x", "+13125550147"))

    dispatcher.run_once(providers, now=NOON)

    sent_text = parse_qs(mocked.calls[0].request.body)["Body"][0]
    stored = db.session.execute(text("SELECT address, body FROM message WHERE id = :id"),
                                {"id": message.id}).one()
    assert "+13125550147" not in stored.address and "5550147" not in stored.address
    assert practice.name not in stored.body
    message = reload(message)
    assert (message.address, message.body) == ("+13125550147", sent_text)


def test_the_same_event_queues_one_message(clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    first = queue(patient, "reminder:7:24h")
    second = queue(patient, "reminder:7:24h")
    assert first.id == second.id
    assert db.session.execute(db.select(db.func.count(Message.id))).scalar_one() == 1


def test_spanish_speakers_get_the_spanish_text(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, preferred_language="es")
    queue(patient)
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "2" * 32, "x", "+1"))
    dispatcher.run_once(providers, now=NOON)
    assert "Responda STOP" in parse_qs(mocked.calls[0].request.body)["Body"][0]


def test_quiet_hours_defer_to_the_next_morning_in_the_patients_zone(providers, practice):
    los_angeles = factories.make_location(practice, timezone="America/Los_Angeles", state="CA")
    provider = factories.make_provider(practice, locations=[los_angeles])
    patient = factories.make_patient(practice)
    factories.make_appointment(patient, provider, los_angeles)
    early = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles
    message = queue(patient, send_at=early)

    stats = dispatcher.run_once(providers, now=early)  # no HTTP call may happen

    assert stats.deferred == 1
    message = reload(message)
    assert message.status == MessageStatus.SCHEDULED
    assert message.send_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # 08:00 PST
    assert "quiet hours in America/Los_Angeles" in message.status_reason


def test_immediate_replies_are_not_held_by_quiet_hours(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    night = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 02:00 in Chicago
    queue(patient, send_at=night, immediate_reply=True, purpose=Purpose.SYSTEM)
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "3" * 32, "x", "+1"))
    assert dispatcher.run_once(providers, now=night).sent == 1


def test_opted_out_number_gets_nothing_but_the_opt_out_confirmation(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550148", email=None)
    consent.record(practice_id=practice.id, channel="sms",
                   contact_index=contact_index("sms", "+13125550148"), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.KEYWORD)
    reminder = queue(patient, "reminder", template=None, body="Lakeside: see you tomorrow")
    confirmation = outbox.enqueue(practice_id=practice.id, patient_id=patient.id,
                                  purpose=Purpose.SYSTEM, idempotency_key="reply:1:stop",
                                  template="opt_out_confirmation", immediate_reply=True,
                                  send_at=NOON)
    db.session.commit()
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "4" * 32, "x", "+1"))

    dispatcher.run_once(providers, now=NOON)

    assert len(mocked.calls) == 1
    assert "You are unsubscribed" in parse_qs(mocked.calls[0].request.body)["Body"][0]
    assert reload(confirmation).status == MessageStatus.SENT
    reminder = reload(reminder)
    assert reminder.status == MessageStatus.SUPPRESSED
    assert reminder.status_reason == "opted out of all sms (keyword)"


def test_help_is_answered_even_after_an_opt_out(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550153", email=None)
    consent.record(practice_id=practice.id, channel="sms",
                   contact_index=contact_index("sms", "+13125550153"), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.KEYWORD)
    queue(patient, "reply:5:help", purpose=Purpose.SYSTEM, immediate_reply=True)
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "9" * 32, "x", "+1"))
    assert dispatcher.run_once(providers, now=NOON).sent == 1


def test_marketing_needs_an_explicit_opt_in(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, email=None)
    message = queue(patient, purpose=Purpose.MARKETING, template=None, body="Lakeside: 10% off")
    dispatcher.run_once(providers, now=NOON)
    assert reload(message).status_reason == "no marketing consent for sms"

    consent.record(practice_id=practice.id, channel="sms",
                   contact_index=contact_index("sms", patient.mobile_phone),
                   purpose=Purpose.MARKETING, granted=True, source=consent.ConsentSource.FORM)
    queue(patient, "k2", purpose=Purpose.MARKETING, template=None, body="Lakeside: 10% off")
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "5" * 32, "x", "+1"))
    assert dispatcher.run_once(providers, now=NOON).sent == 1


def test_patient_without_a_mobile_gets_email(providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone=None, email="ana@example.com")
    message = queue(patient, template=None, subject="Your visit", body="See you <soon>\nBye")
    assert dispatcher.run_once(providers, now=NOON).sent == 1
    message = reload(message)
    assert (message.channel, message.address) == ("email", "ana@example.com")
    assert message.provider_message_id.startswith("console-")


def test_carrier_opt_out_21610_is_recorded_as_an_opt_out(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550149", email=None)
    message = queue(patient)
    mocked.post(MESSAGES, status=400, json=twilio_error(21610, 400))

    assert dispatcher.run_once(providers, now=NOON).failed == 1

    assert reload(message).error_code == "21610"
    assert consent.is_opted_out(practice_id=practice.id, channel="sms",
                                contact_index=contact_index("sms", "+13125550149"))


def test_landline_is_flagged_and_later_messages_are_suppressed(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550150", email=None)
    queue(patient, "first")
    mocked.post(MESSAGES, status=400, json=twilio_error(21614, 400))
    dispatcher.run_once(providers, now=NOON)

    second = queue(patient, "second")
    dispatcher.run_once(providers, now=NOON)  # no HTTP call: the number is known unusable
    assert reload(second).status == MessageStatus.SUPPRESSED
    assert reload(second).status_reason == "sms unusable: invalid_number"


def test_throttling_retries_later_with_backoff(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    message = queue(patient)
    mocked.post(MESSAGES, status=429, json=twilio_error(20429, 429))
    assert dispatcher.run_once(providers, now=NOON).retried == 1
    message = reload(message)
    assert message.status == MessageStatus.SCHEDULED
    assert message.attempts == 1
    assert NOON + timedelta(seconds=14) < message.send_at < NOON + timedelta(minutes=1)


def test_an_outage_that_may_have_sent_waits_for_reconciliation(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    message = queue(patient)
    mocked.post(MESSAGES, status=503, json=twilio_error(20503, 503))
    assert dispatcher.run_once(providers, now=NOON).retried == 1
    message = reload(message)
    assert message.status == MessageStatus.SENDING  # not resent until Twilio is asked
    assert message.status_reason.startswith("outcome unknown")


def test_second_capped_message_of_the_day_waits_for_tomorrow(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    queue(patient, "a", capped=True)
    second = queue(patient, "b", capped=True)
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "6" * 32, "x", "+1"))

    stats = dispatcher.run_once(providers, now=NOON)

    assert (stats.sent, stats.deferred) == (1, 1)
    second = reload(second)
    assert second.send_at == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # 08:00 Chicago
    assert second.status_reason.startswith("frequency cap")


def _left_in_sending(patient, body: str) -> Message:
    """A message a killed worker had prepared (committed) but not recorded as sent."""
    message = queue(patient)
    message.status = MessageStatus.SENDING
    message.body, message.channel, message.address = body, "sms", patient.mobile_phone
    message.sending_started_at = NOON - timedelta(minutes=10)
    db.session.commit()
    return message


def test_a_crashed_send_that_reached_twilio_is_recorded_not_resent(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550151")
    message = _left_in_sending(patient, "Lakeside: see you soon")
    page = {"end": 0, "first_page_uri": "/x", "next_page_uri": None, "page": 0,
            "page_size": 100, "previous_page_uri": None, "start": 0, "uri": "/x",
            "messages": [twilio_message("SM" + "7" * 32, "Lakeside: see you soon",
                                        "+13125550151", status="delivered",
                                        created="Wed, 02 Dec 2026 14:50:02 +0000")]}
    mocked.get(MESSAGES, json=page)

    stats = dispatcher.run_once(providers, now=NOON)

    assert stats.reconciled == 1 and stats.sent == 0  # no POST was made
    message = reload(message)
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == "SM" + "7" * 32


def test_a_crashed_send_twilio_never_saw_is_sent_once(mocked, providers, clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice, mobile_phone="+13125550152")
    message = _left_in_sending(patient, "Lakeside: see you soon")
    empty = {"end": 0, "first_page_uri": "/x", "next_page_uri": None, "page": 0,
             "page_size": 100, "previous_page_uri": None, "start": 0, "uri": "/x",
             "messages": []}
    mocked.get(MESSAGES, json=empty)
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "8" * 32, "x", "+1"))

    stats = dispatcher.run_once(providers, now=NOON)

    assert (stats.reconciled, stats.sent) == (1, 1)
    assert reload(message).provider_message_id == "SM" + "8" * 32


def test_cancelling_an_event_cancels_its_scheduled_messages(clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    queue(patient, "reminder:9:24h")
    queue(patient, "reminder:9:2h")
    other = queue(patient, "reminder:90:24h")
    assert outbox.cancel(idempotency_key_prefix="reminder:9:", reason="appointment cancelled") == 2
    db.session.commit()
    assert reload(other).status == MessageStatus.SCHEDULED


def test_enqueue_refuses_a_message_with_no_text(clinic):
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    with pytest.raises(outbox.OutboxError, match="template or body"):
        outbox.enqueue(practice_id=practice.id, patient_id=patient.id,
                       purpose=Purpose.APPOINTMENT, idempotency_key="x")


def test_a_delivery_callback_that_beats_the_worker_is_not_undone(providers, clinic):
    """Twilio may call the status webhook before the worker commits the send."""
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    message = queue(patient)
    sid = "SM" + "a" * 32

    def send_and_callback(**kwargs):
        with db.engine.begin() as other_connection:  # the webhook's own transaction
            other_connection.execute(
                Message.__table__.update().where(Message.id == message.id)
                .values(status=MessageStatus.DELIVERED, provider_message_id=sid))
        from app.adapters.sending import SendResult
        return SendResult(provider_message_id=sid, status="queued")

    providers.sms.send_sms = send_and_callback
    assert dispatcher.run_once(providers, now=NOON).sent == 1
    message = reload(message)
    assert message.status == MessageStatus.DELIVERED
    assert message.sent_at == NOON


def test_a_window_no_state_rule_allows_suppresses_the_text_and_the_worker_carries_on(
        providers, clinic):
    """Florida allows texts 08:00-20:00; a practice window of 20:00-21:00 leaves no time for a
    Florida patient. That text is suppressed with the reason (it used to crash the worker,
    again after each restart); the next patient's text is handled as usual."""
    practice, *_ = clinic
    practice.send_window_start, practice.send_window_end = time(20), time(21)
    florida = factories.make_patient(practice, mobile_phone="+13055550147", state="FL")
    illinois = factories.make_patient(practice, mobile_phone="+13125550148", state="IL")
    never, later = queue(florida, "fl"), queue(illinois, "il")

    stats = dispatcher.run_once(providers, now=NOON)

    assert (stats.suppressed, stats.deferred) == (1, 1)
    never, later = reload(never), reload(later)
    assert never.status == MessageStatus.SUPPRESSED
    assert "no time to send in state='FL'" in never.status_reason
    assert "20:00-21:00" in never.status_reason
    assert (later.status, later.send_at) == (MessageStatus.SCHEDULED,
                                             datetime(2026, 12, 3, 2, 0, tzinfo=UTC))


def test_a_defect_met_by_one_message_fails_it_and_the_rest_are_sent(mocked, providers, clinic,
                                                                    monkeypatch, caplog):
    practice, *_ = clinic
    broken = queue(factories.make_patient(practice, mobile_phone="+13125550147"), "a")
    fine = queue(factories.make_patient(practice, mobile_phone="+13125550148"), "b")
    decide = dispatcher.policy.decide

    def decide_or_break(message, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if message.id == broken.id:
            raise KeyError("a defect")
        return decide(message, **kwargs)

    monkeypatch.setattr(dispatcher.policy, "decide", decide_or_break)
    mocked.post(MESSAGES, status=201, json=twilio_message("SM" + "2" * 32, "x", "+13125550148"))

    stats = dispatcher.run_once(providers, now=NOON)

    assert (stats.failed, stats.sent) == (1, 1)
    assert reload(broken).status == MessageStatus.FAILED
    assert "internal error" in reload(broken).status_reason
    assert reload(fine).status == MessageStatus.SENT
    assert f"message {broken.id}: deciding whether to send failed" in caplog.text
