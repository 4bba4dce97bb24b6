"""The inbox in a real browser at tablet width, CSRF on: a staff member attaches a PDF to an
email reply, it goes to SendGrid as an attachment and downloads from the thread; from the
patient panel a payment link is texted and a visit cancelled, the patient told."""

from __future__ import annotations

import base64
import json
from datetime import time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.adapters.email.sendgrid import SendGridEmail
from app.adapters.sms.console import ConsoleSms
from app.billing.models import PaymentRequest
from app.core.clock import utcnow
from app.extensions import db
from app.messaging import conversations, dispatcher
from app.messaging.models import Message
from app.scheduling.models import Appointment
from tests import factories
from tests.adapters.fake_http import FakeHTTPServer
from tests.billing.helpers import charge, grant_billing
from tests.browser.staff import sign_in
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

pytestmark = [pytest.mark.browser, pytest.mark.app_settings(**WEBHOOK_SETTINGS)]
PDF = b"%PDF-1.4\n% a receipt\n" + b"0" * 2000


@pytest.fixture
def patient(practice):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    return factories.make_patient(practice, given_name="Olivia", mobile_phone=PATIENT_PHONE,
                                  email="olivia@example.com")


@pytest.fixture
def tablet(page):
    page.set_viewport_size({"width": 1024, "height": 768})
    return page


def test_a_pdf_attached_to_an_email_reply_goes_to_sendgrid_and_downloads(
        tablet, practice, patient, tmp_path):
    page = tablet
    conversation = conversations.get_or_create(practice_id=practice.id, channel="email",
                                               address=patient.email, patient_ids=[patient.id])
    db.session.commit()
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto(f"/inbox/c/{conversation.id}")
    page.locator("#reply-body").fill("Hi Olivia, your receipt is attached.")
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(PDF)
    page.get_by_label("Attach files").set_input_files(str(receipt))
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply sent to the outbox.")).to_be_visible()
    attached = page.locator(".item-outbound .item-files").get_by_role("link",
                                                                      name="receipt.pdf")
    expect(attached).to_be_visible()

    with page.expect_download() as download:
        attached.click()
    assert download.value.suggested_filename == "receipt.pdf"
    assert download.value.path().read_bytes() == PDF

    fake = FakeHTTPServer().start()
    try:
        fake.reply(202, X_Message_Id="sg-1")
        stats = dispatcher.run_once(dispatcher.Providers(
            sms=ConsoleSms(), email=SendGridEmail(api_key="SG.k", from_email="d@x.example",
                                                  api_base_url=fake.url, timeout=2.0),
            public_base_url="http://localhost"))
    finally:
        fake.stop()
    assert stats.sent == 1
    assert json.loads(fake.requests[0].body)["attachments"] == [{
        "content": base64.b64encode(PDF).decode(), "filename": "receipt.pdf",
        "type": "application/pdf", "disposition": "attachment"}]


def test_a_visit_is_cancelled_from_the_patient_panel_and_the_patient_told(
        tablet, client, practice, patient):
    page = tablet
    charge(patient, 12000)
    grant_billing(patient, "sms")
    location = factories.make_location(practice, name="Lakeside North")
    provider = factories.make_provider(practice, locations=[location])
    visit = factories.make_appointment(patient, provider, location,
                                       start_at=utcnow() + timedelta(days=3))
    assert post_twilio(client, "/webhooks/twilio/sms",
                       inbound_form("I can't come on Friday, sorry")).status_code == 200
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto("/inbox")
    page.locator(".inbox-row").get_by_role("link").click()
    panel = page.locator(".patient-panel")
    expect(panel.locator(".panel-visit")).to_contain_text("Lakeside North")
    conversation_url = page.url

    expect(panel.locator(".panel-billing")).to_contain_text("$120.00")
    panel.get_by_role("button", name="Send payment link by text").click()
    expect(page.get_by_text("Payment link for $120.00 queued by sms.")).to_be_visible()
    assert page.url == conversation_url
    assert db.session.execute(select(PaymentRequest.channel)).scalar_one() == "sms"

    panel.get_by_text("Cancel", exact=True).click()
    panel.get_by_label("Reason").fill("Patient asked by text")
    panel.get_by_label("Notify the patient").check()
    panel.get_by_role("button", name="Cancel this visit").click()

    expect(page.get_by_text("The visit is cancelled; the patient is sent an apology")
           ).to_be_visible()
    expect(page.locator(".patient-panel")).to_contain_text("No upcoming visits.")
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).status == "cancelled"
    assert db.session.execute(select(Message.id).where(
        Message.template == "journey_apology", Message.patient_id == patient.id)).first()
