"""Files attached to an email reply: checked (type by content, sizes, count), kept encrypted
with the message, sent by the dispatcher as SendGrid attachments (the real SDK against a
loopback fake: it speaks urllib, which ``responses`` cannot see), downloadable from the
thread (audited); send-later keeps them; texts carry none."""

from __future__ import annotations

import base64
import io
import json
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from app.adapters.email.sendgrid import SendGridEmail
from app.adapters.sms.console import ConsoleSms
from app.core.clock import utcnow
from app.extensions import db
from app.inbox import attachments
from app.messaging import conversations, dispatcher, media
from app.messaging.models import Message, MessageMedia
from app.security.models import AuditEvent
from tests.adapters.fake_http import FakeHTTPServer
from tests.inbox.conftest import WEBHOOK_SETTINGS, text_in

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)
PDF = b"%PDF-1.4\n" + b"receipt line\n" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"x-ray" * 100
TOKEN = "b" * 24


@pytest.fixture
def email_thread(practice, patient):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    conversation = conversations.get_or_create(practice_id=practice.id, channel="email",
                                               address=patient.email, patient_ids=[patient.id])
    db.session.commit()
    return conversation.id


def reply(client, cid: int, *files: tuple[bytes, str], **form: str):
    data = {"body": "Your receipt is attached.", "token": TOKEN, **form,
            "attachments": [(io.BytesIO(content), name) for content, name in files]}
    response = client.post(f"/inbox/c/{cid}/reply", data=data,
                           content_type="multipart/form-data", follow_redirects=True)
    response.get_data()
    response.close()  # a refusal is the last response: its body may be a temporary file
    return response


def stored() -> list[MessageMedia]:
    return db.session.execute(select(MessageMedia).order_by(MessageMedia.position)
                              ).scalars().all()


def test_files_sent_with_an_email_reply_reach_sendgrid_as_attachments(
        patient, email_thread, staff_client):
    _, alice = staff_client()
    page = alice.get(f"/inbox/c/{email_thread}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="attachments"' in page
    for _ in range(2):  # a double click queues one message with its files once
        response = reply(alice, email_thread, (PDF, "receipt.PDF"),
                         (PNG, "x-ray"))
        assert "Reply sent to the outbox." in response.get_data(as_text=True)
    message = db.session.execute(select(Message).where(
        Message.sent_by_staff_id.is_not(None))).scalar_one()
    files = stored()
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("receipt.pdf", "application/pdf", len(PDF)), ("x-ray.png", "image/png", len(PNG))]
    raw = db.session.execute(text("SELECT filename, content FROM message_media")).all()
    assert all(name.startswith("fd1:") and body.startswith("fd1:") for name, body in raw)
    assert not any("receipt" in name for name, _ in raw)

    fake = FakeHTTPServer().start()
    try:
        fake.reply(202, X_Message_Id="sg-attached")
        stats = dispatcher.run_once(dispatcher.Providers(
            sms=ConsoleSms(), email=SendGridEmail(api_key="SG.k", from_email="desk@x.example",
                                                  api_base_url=fake.url, timeout=2.0),
            public_base_url="http://localhost"))
    finally:
        fake.stop()
    assert stats.sent == 1
    sent = json.loads(fake.requests[0].body)
    assert sent["attachments"] == [
        {"content": base64.b64encode(PDF).decode(), "filename": "receipt.pdf",
         "type": "application/pdf", "disposition": "attachment"},
        {"content": base64.b64encode(PNG).decode(), "filename": "x-ray.png",
         "type": "image/png", "disposition": "attachment"}]
    assert sent["personalizations"] == [{"to": [{"email": patient.email}]}]
    db.session.refresh(message)
    assert message.status == "sent"


def test_attached_files_download_from_the_thread_and_each_download_is_audited(
        patient, email_thread, staff_client):
    _, alice = staff_client()
    reply(alice, email_thread, (PDF, "receipt.pdf"))
    [pdf] = stored()
    page = alice.get(f"/inbox/c/{email_thread}").get_data(as_text=True)
    assert f'href="/inbox/media/{pdf.id}" download>receipt.pdf</a>' in page
    download = alice.get(f"/inbox/media/{pdf.id}")
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=receipt.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.object_type == "message_media", AuditEvent.object_id == str(pdf.id),
        AuditEvent.patient_id == patient.id)).first()
    _, billing = staff_client("billing")  # no inbox permission
    assert billing.get(f"/inbox/media/{pdf.id}").status_code == 403


def test_a_reply_sent_later_keeps_its_files(patient, email_thread, staff_client):
    _, alice = staff_client()
    later = (utcnow() + timedelta(days=2)).astimezone(
        ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M")
    response = reply(alice, email_thread, (PDF, "plan.pdf"), send_at=later,
                     zone="America/Chicago")
    assert "Reply queued: it is sent at" in response.get_data(as_text=True)
    message = db.session.execute(select(Message).where(
        Message.sent_by_staff_id.is_not(None))).scalar_one()
    assert message.send_at > utcnow() + timedelta(days=1)
    assert [f.message_id for f in stored()] == [message.id]
    assert [a.filename for a in media.attachments(message.id)] == ["plan.pdf"]


@pytest.mark.parametrize(("files", "said"), [
    ([(b"MZ\x90\x00 not a pdf", "invoice.pdf")],
     "invoice.pdf cannot be attached: only PDF, JPEG, PNG, GIF or WebP files can."),
    ([(b"%PDF-" + b"0" * attachments.MAX_FILE_BYTES, "big.pdf")],
     "big.pdf is larger than 10 MB."),
    ([(b"", "empty.pdf")], "empty.pdf is empty."),
    ([(PDF, f"{n}.pdf") for n in range(attachments.MAX_FILES + 1)], "Attach at most 5 files."),
])
def test_refused_files_are_named_and_nothing_is_queued(patient, email_thread, staff_client,
                                                      files, said):
    _, alice = staff_client()
    response = reply(alice, email_thread, *files)
    assert response.status_code == 422  # the composer again, the reason by the file field
    page = response.get_data(as_text=True)
    assert f'<small id="attachments-error" class="field-error">{said}</small>' in page
    assert ">Your receipt is attached.</textarea>" in page
    assert db.session.execute(select(Message.id)).first() is None
    assert stored() == []


def test_twenty_megabytes_in_all_at_most(patient, email_thread, staff_client):
    _, alice = staff_client()
    nine = b"%PDF-" + b"0" * (9 * attachments.MB)  # the reply takes more than the app's 5 MB
    response = reply(alice, email_thread, (nine, "a.pdf"), (nine, "b.pdf"),
                     (b"%PDF-" + b"0" * (5 * attachments.MB // 2), "c.pdf"))
    assert "Attach at most 20 MB in all." in response.get_data(as_text=True)
    assert stored() == []

    def post_raw(path: str, size: int):  # a body of that size, refused before it is read
        return alice.post(path, data=b"0" * size,
                          content_type="multipart/form-data; boundary=x")

    # over what the reply's request may hold: the page says what to do
    response = post_raw(f"/inbox/c/{email_thread}/reply", 22 * attachments.MB)
    assert response.status_code == 413
    assert "attach fewer or smaller files" in response.get_data(as_text=True)
    # other pages keep the app's 5 MB limit
    assert post_raw(f"/inbox/c/{email_thread}/note", 6 * attachments.MB).status_code == 413


def test_texts_carry_no_attachments(client, patient, staff_client):
    text_in(client, "Can you send my receipt?")
    _, alice = staff_client()
    cid = db.session.execute(select(Message.conversation_id)).scalar_one()
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert 'name="attachments"' not in page
    response = reply(alice, cid, (PDF, "receipt.pdf"))
    assert "Texts cannot carry attachments: send the file by email." in response.get_data(
        as_text=True)
    assert stored() == []


def test_file_names_keep_their_last_part_and_end_with_their_real_type():
    assert attachments.clean_name("C:\\Users\\a\\scan.PDF", "application/pdf") == "scan.pdf"
    assert attachments.clean_name("../../etc/passwd", "image/png") == "passwd.png"
    assert attachments.clean_name('card".png\r\n', "image/jpeg") == "card_.png_.jpg"
    assert attachments.clean_name("x" * 300 + ".pdf", "application/pdf") == "x" * 116 + ".pdf"
    assert attachments.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert attachments.sniff(b"<svg onload=alert(1)>") is None
