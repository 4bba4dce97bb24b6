"""The patient record's message log lists each message's files (an MMS picture the patient
texted, a file attached to an email reply), each opened through the inbox's audited route;
a role that does not work the inbox sees the names, no link, and the route refuses it."""

from __future__ import annotations

import base64
import io
from datetime import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.messaging import conversations
from app.messaging.models import Message, MessageMedia, Purpose
from app.security.models import AuditEvent
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)
PICTURE = b"\x89PNG\r\n\x1a\n" + b"insurance card" * 50
PDF = b"%PDF-1.4\n" + b"receipt line\n" * 200


@pytest.fixture
def olivia(practice):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    return factories.make_patient(practice, given_name="Olivia", mobile_phone=PATIENT_PHONE,
                                  email="olivia@example.com")


def picture_texted(client) -> MessageMedia:
    """An MMS whose picture the worker has fetched and stored."""
    form = inbound_form("My card")
    form.update({"NumMedia": "2", "MediaUrl0": "https://api.twilio.com/m/ME1",
                 "MediaContentType0": "image/png", "MediaUrl1": "https://api.twilio.com/m/ME2",
                 "MediaContentType1": "image/png"})
    assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200
    stored, waiting = db.session.execute(select(MessageMedia).order_by(
        MessageMedia.position)).scalars().all()
    stored.content, stored.source_url = base64.b64encode(PICTURE).decode(), None
    stored.size = len(PICTURE)
    db.session.commit()
    return stored


def receipt_emailed(practice, olivia, staff) -> MessageMedia:
    conversation = conversations.get_or_create(practice_id=practice.id, channel="email",
                                               address=olivia.email, patient_ids=[olivia.id])
    db.session.commit()
    response = staff.post(f"/inbox/c/{conversation.id}/reply", data={
        "body": "Your receipt is attached.", "token": "r" * 24,
        "attachments": [(io.BytesIO(PDF), "receipt.pdf")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    return db.session.execute(select(MessageMedia).where(
        MessageMedia.filename.is_not(None))).scalar_one()


def test_the_record_lists_pictures_and_attached_files_with_audited_links(
        client, practice, olivia, login):
    front_desk = login("front_desk")
    picture = picture_texted(client)
    receipt = receipt_emailed(practice, olivia, front_desk)
    page = front_desk.get(f"/patients/{olivia.id}").get_data(as_text=True)
    log = page[page.index('id="messages"'):]
    assert (f'<a href="/inbox/media/{receipt.id}" download>receipt.pdf</a>') in log
    assert f'<a href="/inbox/media/{picture.id}" target="_blank" rel="noopener">Picture 1</a>' \
        in log
    assert "Picture 2: not fetched from the provider" in log  # not stored: nothing to open
    assert log.index("receipt.pdf") < log.index("Picture 1")  # newest first, as the log
    # The log's own page (older pages come from there) lists them too.
    assert f"/inbox/media/{receipt.id}" in front_desk.get(
        f"/patients/{olivia.id}/messages").get_data(as_text=True)

    opened = front_desk.get(f"/inbox/media/{picture.id}")
    assert opened.status_code == 200 and opened.data == PICTURE
    downloaded = front_desk.get(f"/inbox/media/{receipt.id}")
    assert downloaded.data == PDF and "attachment" in downloaded.headers["Content-Disposition"]
    viewed = db.session.execute(select(AuditEvent.object_id).where(
        AuditEvent.object_type == "message_media", AuditEvent.patient_id == olivia.id)
    ).scalars().all()
    assert sorted(viewed) == sorted([str(picture.id), str(receipt.id)])


def test_a_role_outside_the_inbox_sees_the_names_without_a_link(
        client, practice, olivia, login):
    front_desk = login("front_desk")
    receipt = receipt_emailed(practice, olivia, front_desk)
    db.session.execute(db.update(Message).values(purpose=Purpose.BILLING))  # billing may read
    db.session.commit()
    billing = login("billing")
    log = billing.get(f"/patients/{olivia.id}").get_data(as_text=True)
    log = log[log.index('id="messages"'):]
    assert "receipt.pdf" in log and f"/inbox/media/{receipt.id}" not in log
    assert billing.get(f"/inbox/media/{receipt.id}").status_code == 403


def test_another_practices_staff_cannot_open_the_file(client, app, practice, olivia, login):
    receipt = receipt_emailed(practice, olivia, login("front_desk"))
    other = factories.make_practice()
    stranger = factories.make_staff(other, role="front_desk")
    outsider = app.test_client()
    outsider.post("/sign-in", data={"email": stranger.email,
                                    "password": factories.STAFF_PASSWORD})
    assert outsider.get(f"/inbox/media/{receipt.id}").status_code == 404
    assert outsider.get(f"/patients/{olivia.id}").status_code == 404
