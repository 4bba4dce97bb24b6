"""The dev outbox (console providers only), its "send due messages now" button and test text
form, and the SMS segment counter's endpoint."""

from __future__ import annotations

import json
import logging
from datetime import time

import pytest
from sqlalchemy import select

from app.adapters.sms.segments import count_segments
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Message, MessageStatus, Purpose
from app.security.models import AuditEvent
from tests import factories
from tests.messaging.signed_webhooks import SENDGRID_PUBLIC_KEY

NOT_CONSOLE = {
    "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_AUTH_TOKEN": "token", "TWILIO_MESSAGING_SERVICE_SID": "MG" + "b2" * 16,
    "EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": "SG.key",
    "SENDGRID_FROM_EMAIL": "reminders@lakeside.example",
    "SENDGRID_WEBHOOK_PUBLIC_KEY": SENDGRID_PUBLIC_KEY,
}


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def patient(practice):
    # Messages may go at any hour, so the test does not depend on the time it runs.
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    return factories.make_patient(practice, mobile_phone="+13125550147", email=None)


def _messages() -> list[Message]:
    db.session.expire_all()
    return list(db.session.execute(select(Message).order_by(Message.id)).scalars())


def test_the_dev_outbox_is_not_there_unless_a_provider_is_console(make_app, practice):
    app = make_app(**NOT_CONSOLE)
    user = factories.make_staff(practice, role="admin")
    client = app.test_client()
    client.post("/sign-in", data={"email": user.email, "password": factories.STAFF_PASSWORD})

    assert client.get("/dev/outbox").status_code == 404
    assert client.post("/dev/outbox/send").status_code == 404
    assert "Dev outbox" not in client.get("/").get_data(as_text=True)


def test_admins_find_the_dev_outbox_in_the_nav_and_others_may_not_open_it(admin, login):
    assert 'href="/dev/outbox"' in admin.get("/").get_data(as_text=True)
    front_desk = login("front_desk")
    assert 'href="/dev/outbox"' not in front_desk.get("/").get_data(as_text=True)
    assert front_desk.get("/dev/outbox").status_code == 403
    assert front_desk.post("/dev/outbox/send").status_code == 403


def test_the_page_lists_outbound_messages_with_masked_recipients_and_text(admin, patient):
    factories.make_message(patient, body="Reminder: cleaning Tue 9:00 at Lakeside",
                           template="appointment_reminder")
    factories.make_message(patient, direction="inbound", body="An inbound text")

    page = admin.get("/dev/outbox").get_data(as_text=True)

    assert "Reminder: cleaning Tue 9:00 at Lakeside" in page and "appointment_reminder" in page
    assert "********0147" in page and "+13125550147" not in page and "555-0147" not in page
    assert "An inbound text" not in page
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "conversation.view")).scalar_one()
    assert json.loads(event.detail) == {"messages": 1, "patient_ids": [patient.id]}


def test_send_due_messages_now_sends_with_the_console_provider(admin, patient, caplog):
    caplog.set_level(logging.INFO, logger="app.adapters")
    queued = outbox.enqueue(practice_id=patient.practice_id, patient_id=patient.id,
                            channel="sms", purpose=Purpose.CONVERSATION,
                            body="Your crown is ready, Lakeside Family Dental",
                            idempotency_key="dev:1")
    db.session.commit()

    response = admin.post("/dev/outbox/send", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "Sent 1, deferred 0, suppressed 0, failed 0, retrying 0, reconciled 0." in page
    (message,) = _messages()
    assert message.id == queued.id and message.status == MessageStatus.SENT
    assert message.provider_message_id.startswith("console-")
    assert any(message.provider_message_id in line for line in caplog.messages)
    assert not any("crown" in line for line in caplog.messages), "the text stays off the log"
    assert "Your crown is ready" in admin.get("/dev/outbox").get_data(as_text=True)


def test_a_test_text_is_queued_for_the_patient_and_sent_by_the_button(admin, patient):
    response = admin.post("/dev/outbox/test-sms", data={
        "patient_id": str(patient.id), "body": "Testing the console, Lakeside Family Dental"})
    assert response.status_code == 302

    (message,) = _messages()
    assert (message.patient_id, message.channel, message.purpose, message.status) == (
        patient.id, "sms", "conversation", "scheduled")
    assert message.sent_by_staff_id is not None

    admin.post("/dev/outbox/send")
    assert _messages()[0].status == MessageStatus.SENT
    page = admin.get("/dev/outbox").get_data(as_text=True)
    assert "Testing the console, Lakeside Family Dental" in page and "Sent" in page


@pytest.mark.parametrize(("form", "error"), [
    ({"patient_id": "999999", "body": "Hi"}, "There is no patient with that number"),
    ({"patient_id": "", "body": "Hi"}, "Enter the patient"),
    ({"body": ""}, "Write the text to send."),
])
def test_a_test_text_with_bad_input_names_the_field(admin, patient, form, error):
    form = {"patient_id": str(patient.id), **form}
    response = admin.post("/dev/outbox/test-sms", data=form)
    assert response.status_code == 200
    assert error in response.get_data(as_text=True)
    assert _messages() == []


def test_a_patient_without_a_mobile_cannot_get_a_test_text(admin, practice):
    landline_only = factories.make_patient(practice, mobile_phone=None)
    response = admin.post("/dev/outbox/test-sms", data={"patient_id": str(landline_only.id),
                                                        "body": "Hi"})
    assert "This patient has no mobile number on file." in response.get_data(as_text=True)
    assert _messages() == []


def test_the_test_text_box_carries_the_segment_counter(admin):
    page = admin.get("/dev/outbox").get_data(as_text=True)
    assert 'data-sms-counter="/messaging/segments"' in page
    assert 'data-sms-counter-output="body-count"' in page and 'id="body-count"' in page


# -- the segment counter's endpoint ------------------------------------------------------------

SAMPLES = ["", "Hi", "a" * 160, "a" * 161, "€" * 80, "{curly} [square] ~tilde~",
           "Recordatorio: cita el martes", "¿Cómo estás? ñ", "Olá, até já", "é" * 200,
           "Thanks! 😀", "😀" * 35, "日本語のテキスト" * 10, "line\nbreak\r\n"]


@pytest.mark.parametrize("text", SAMPLES)
def test_the_segment_endpoint_agrees_with_count_segments(login, text):
    response = login("marketing").post("/messaging/segments", data={"text": text})

    expected = count_segments(text)
    assert response.status_code == 200
    assert response.get_json() | {"label": ""} == {
        "encoding": expected.encoding.value, "characters": expected.characters,
        "segments": expected.segments, "label": ""}


def test_the_segment_label_is_in_the_readers_language(login):
    client = login("front_desk")
    english = client.post("/messaging/segments", data={"text": "a" * 161}).get_json()
    spanish = client.post("/messaging/segments", data={"text": "ñ😀"},
                          headers={"Accept-Language": "es"}).get_json()
    assert english["label"] == "161 characters · 2 segments (GSM-7)"
    assert spanish["label"] == "3 caracteres · 1 segmento (Unicode)"


def test_the_segment_endpoint_refuses_a_huge_text(login):
    response = login("front_desk").post("/messaging/segments", data={"text": "a" * 10_001})
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("text:")


def test_in_spanish_the_recipient_column_and_the_admin_badge_read_right(admin, patient):
    factories.make_message(patient, body="Hola", template="appointment_reminder")
    page = admin.get("/dev/outbox", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<th>Destinatario</th>" in page and "<th>Hasta</th>" not in page
    assert '<span class="badge">Administrador/a</span>' in page
    assert "Salida (pruebas)" in page and "Bandeja de salida" not in page
    assert ">Administración<" in page  # the navigation's section is still the department
