"""Each practice's messages go out from its own senders: its SMS number or Messaging Service
and its email sender; a practice without them uses the deployment's settings (the adapters'
configured sender). The Twilio adapter sends from the sender it is handed."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import responses

from app.adapters.sending import SendResult
from app.adapters.sms.base import SmsSender
from app.adapters.sms.twilio import TwilioSms
from app.extensions import db
from app.messaging import dispatcher, outbox
from app.messaging.models import Purpose
from tests import factories

NOON = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 09:00 in Chicago, inside the send window
SID = "AC" + "a1" * 16


class Recorder:
    """An SMS and email provider that records who each message was sent from."""

    name = "recorder"

    def __init__(self) -> None:
        self.sms: list[tuple[str, SmsSender | None]] = []
        self.email: list[tuple[str, str | None]] = []

    def send_sms(self, *, to, body, status_callback_url, idempotency_key, sender=None  # noqa: ANN001
                 ) -> SendResult:
        self.sms.append((to, sender))
        return SendResult(f"SM{len(self.sms):032x}", "queued")

    def send_email(self, *, to, subject, html, text, idempotency_key, categories=(),  # noqa: ANN001
                   from_email=None, attachments=()) -> SendResult:
        self.email.append((to, from_email))
        return SendResult(f"em{len(self.email)}", "queued")


def _queue(patient, key: str, channel: str) -> None:  # noqa: ANN001
    text = {"template": "help_reply"} if channel == "sms" else {"body": "See you soon",
                                                               "subject": "Your visit"}
    outbox.enqueue(practice_id=patient.practice_id, patient_id=patient.id, channel=channel,
                   purpose=Purpose.APPOINTMENT, idempotency_key=key, send_at=NOON, **text)
    db.session.commit()


def test_each_practice_sends_from_its_own_senders(app):
    own = factories.make_practice(name="Own Senders", sms_from_number="+13125550111",
                                  email_from_address="desk@own.example")
    service = factories.make_practice(name="Service", sms_messaging_service_sid="MG" + "c3" * 16)
    plain = factories.make_practice(name="Defaults")
    for practice, phone in ((own, "+13125550201"), (service, "+13125550202"),
                            (plain, "+13125550203")):
        patient = factories.make_patient(practice, mobile_phone=phone,
                                         email=f"p{practice.id}@example.com")
        _queue(patient, f"sms-{practice.id}", "sms")
        _queue(patient, f"email-{practice.id}", "email")
    recorder = Recorder()

    stats = dispatcher.run_once(dispatcher.Providers(
        sms=recorder, email=recorder, public_base_url="https://clinic.example"), now=NOON)

    assert stats.sent == 6
    assert dict(recorder.sms) == {
        "+13125550201": SmsSender(from_number="+13125550111"),
        "+13125550202": SmsSender(messaging_service_sid="MG" + "c3" * 16),
        "+13125550203": SmsSender(),  # falsy: the adapter's configured sender
    }
    assert dict(recorder.email) == {f"p{own.id}@example.com": "desk@own.example",
                                    f"p{service.id}@example.com": None,
                                    f"p{plain.id}@example.com": None}


def test_twilio_sends_from_the_sender_handed_to_it_else_its_own():
    sms = TwilioSms(account_sid=SID, auth_token="f" * 32,
                    messaging_service_sid="MG" + "b2" * 16, timeout=5.0)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    answer = {"sid": "SM" + "1" * 32, "status": "queued", "account_sid": SID}
    with responses.RequestsMock() as mocked:
        mocked.post(url, status=201, json=answer)
        mocked.post(url, status=201, json=answer)
        mocked.post(url, status=201, json=answer)
        sms.send_sms(to="+13125550147", body="a", status_callback_url=None,
                     idempotency_key="m1", sender=SmsSender(from_number="+13125550111"))
        sms.send_sms(to="+13125550147", body="b", status_callback_url=None,
                     idempotency_key="m2")
        sms.send_sms(to="+13125550147", body="c", status_callback_url=None,
                     idempotency_key="m3", sender=SmsSender())
        sent = [parse_qs(call.request.body) for call in mocked.calls]
    assert sent[0]["From"] == ["+13125550111"] and "MessagingServiceSid" not in sent[0]
    assert sent[1]["MessagingServiceSid"] == ["MG" + "b2" * 16] and "From" not in sent[1]
    assert sent[2]["MessagingServiceSid"] == ["MG" + "b2" * 16]
