"""Twilio status callbacks through the signed webhook: forward-only status, error codes acted on
once, crash reconciliation through the ``m`` reference."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.messaging import consent, outbox
from app.messaging.conversations import contact_index
from app.messaging.delivery_events import STATUS_RANK
from app.messaging.models import ConsentEntry, ContactPointStatus, Message, MessageStatus, Purpose
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    new_sid,
    post_twilio,
    twilio_signature,
)

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, mobile_phone=PATIENT_PHONE)


def sent_text(patient, *, status=MessageStatus.SENT, sid: str | None = "auto") -> Message:
    """An outbound text as the dispatcher leaves it after handing it to Twilio."""
    message = outbox.enqueue(practice_id=patient.practice_id, patient_id=patient.id,
                             purpose=Purpose.APPOINTMENT, idempotency_key=new_sid("reminder:"),
                             template="help_reply")
    message.channel, message.address, message.body = "sms", PATIENT_PHONE, "See you soon"
    message.status = status
    message.provider_message_id = new_sid() if sid == "auto" else sid
    db.session.commit()
    return message


def callback(client, message_sid, status, *, error_code=None, reference=None):
    form = {"MessageSid": message_sid, "SmsSid": message_sid, "MessageStatus": status,
            "SmsStatus": status, "AccountSid": "AC" + "a1" * 16, "To": PATIENT_PHONE,
            "From": "+13125550100", "ApiVersion": "2010-04-01"}
    if error_code:
        form["ErrorCode"] = error_code
    path = "/webhooks/twilio/status" + (f"?m={reference}" if reference else "")
    response = post_twilio(client, path, form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.data == b""
    return response


def reload(message):
    db.session.expire_all()
    return db.session.get(Message, message.id)


@pytest.mark.parametrize(("callbacks", "final"), [
    (["sent", "delivered"], "delivered"),
    (["delivered", "sent"], "delivered"),
    (["delivered", "queued", "sending"], "delivered"),
    (["undelivered", "delivered"], "delivered"),  # a late positive receipt wins
    (["delivered", "undelivered"], "delivered"),
    (["failed", "delivered"], "failed"),
    (["failed", "sent"], "failed"),
    (["accepted", "queued", "sending", "sent"], "sent"),
    (["sent", "undelivered", "sent"], "undelivered"),
    (["canceled"], "sent"),  # no meaning for us
    (["bogus"], "sent"),
])
def test_status_only_moves_forward_whatever_the_order(client, patient, callbacks, final):
    message = sent_text(patient)
    for status in callbacks:
        callback(client, message.provider_message_id, status)
    assert reload(message).status == final


def test_the_rank_table_orders_the_outbound_states():
    assert sorted(STATUS_RANK, key=STATUS_RANK.get) == [
        "scheduled", "sending", "sent", "undelivered", "delivered", "failed"]
    assert STATUS_RANK["delivered"] == STATUS_RANK["failed"]


def test_delivered_sets_the_time_and_error_codes_are_kept(client, patient):
    delivered, undelivered = sent_text(patient), sent_text(patient)
    callback(client, delivered.provider_message_id, "delivered")
    callback(client, undelivered.provider_message_id, "undelivered", error_code="30003")

    delivered, undelivered = reload(delivered), reload(undelivered)
    assert delivered.delivered_at is not None and delivered.error_code is None
    assert (undelivered.status, undelivered.error_code) == ("undelivered", "30003")
    assert undelivered.delivered_at is None
    # 30003 (handset unreachable) is temporary: the number stays usable.
    assert db.session.scalar(select(func.count()).select_from(ContactPointStatus)) == 0


def test_21610_records_the_carriers_opt_out_once(client, practice, patient):
    message = sent_text(patient)
    for _ in range(2):
        callback(client, message.provider_message_id, "failed", error_code="21610")
    second = sent_text(patient)
    callback(client, second.provider_message_id, "failed", error_code="21610")

    assert (reload(message).status, reload(message).error_code) == ("failed", "21610")
    assert consent.is_opted_out(practice_id=practice.id, channel="sms",
                                contact_index=contact_index("sms", PATIENT_PHONE))
    (entry,) = db.session.execute(select(ConsentEntry)).scalars().all()
    assert (entry.source, entry.purpose, entry.granted, entry.message_id) == (
        "carrier", "all", False, message.id)


@pytest.mark.parametrize(("code", "reason"), [
    ("21614", "not_mobile"), ("21211", "invalid_number"), ("21635", "landline"),
    ("30006", "landline"),
])
def test_numbers_that_cannot_receive_texts_are_marked_unusable(client, practice, patient,
                                                               code, reason):
    message = sent_text(patient)
    callback(client, message.provider_message_id, "undelivered", error_code=code)

    (status,) = db.session.execute(select(ContactPointStatus)).scalars().all()
    assert (status.channel, status.usable, status.reason, status.error_code) == (
        "sms", False, reason, code)
    assert status.contact_index == contact_index("sms", PATIENT_PHONE)


def test_a_crashed_send_is_matched_by_our_reference_and_never_resent(client, patient):
    in_flight = sent_text(patient, status=MessageStatus.SENDING, sid=None)
    requeued = sent_text(patient, status=MessageStatus.SCHEDULED, sid=None)
    sid_a, sid_b = new_sid(), new_sid()

    callback(client, sid_a, "sent", reference=in_flight.id)
    callback(client, sid_b, "delivered", reference=requeued.id)

    in_flight, requeued = reload(in_flight), reload(requeued)
    assert (in_flight.status, in_flight.provider_message_id) == ("sent", sid_a)
    assert in_flight.sent_at is not None
    assert (requeued.status, requeued.provider_message_id) == ("delivered", sid_b)


def test_a_reference_to_a_message_with_another_sid_is_not_taken(client, patient):
    message = sent_text(patient)
    callback(client, new_sid(), "failed", reference=message.id)
    assert reload(message).status == "sent"


def test_an_unknown_message_is_acknowledged_and_changes_nothing(client, patient):
    message = sent_text(patient)
    callback(client, new_sid(), "delivered")
    callback(client, new_sid(), "delivered", reference="not-a-number")
    callback(client, new_sid(), "delivered", reference=999999)
    assert reload(message).status == "sent"


def test_a_forged_status_callback_is_refused(client, patient):
    message = sent_text(patient)
    form = {"MessageSid": message.provider_message_id, "MessageStatus": "failed",
            "ErrorCode": "21610"}
    response = post_twilio(client, "/webhooks/twilio/status", form, signature="Zm9yZ2Vk")
    # Signed for a different query string: the reference is part of what Twilio signs.
    moved = client.post(f"/webhooks/twilio/status?m={message.id}", data=form, headers={
        "X-Twilio-Signature": twilio_signature("/webhooks/twilio/status?m=999", form)})

    assert response.status_code == 403 and moved.status_code == 403
    assert reload(message).status == "sent"
    assert db.session.scalar(select(func.count()).select_from(ConsentEntry)) == 0


def test_a_signed_callback_without_a_message_sid_is_a_400(client, patient):
    response = post_twilio(client, "/webhooks/twilio/status", {"MessageStatus": "sent"})
    assert response.status_code == 400
    assert response.data == b"MessageSid: missing"
