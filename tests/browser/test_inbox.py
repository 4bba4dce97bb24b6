"""The shared inbox in a real browser, CSRF on: a new text appears without reloading, a reply
from a canned reply is delivered after the status callback, HTML stays text, an MMS picture
shows, an opted-out number cannot be texted, and two staff see each other."""

from __future__ import annotations

import base64
import re
from datetime import time

import pytest
import responses
from playwright.sync_api import expect
from sqlalchemy import select

from app.adapters.email.console import ConsoleEmail
from app.adapters.sms.console import ConsoleSms
from app.adapters.sms.media import TwilioMediaFetcher
from app.extensions import db
from app.inbox.models import CannedReply
from app.messaging import dispatcher, media
from app.messaging.models import Message
from tests import factories
from tests.browser.staff import sign_in
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

pytestmark = [pytest.mark.browser, pytest.mark.app_settings(**WEBHOOK_SETTINGS)]
LIVE = 15_000  # the list refreshes every 5 s, the thread every 4 s
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhf"
                       "DwAChwGA60e6kgAAAABJRU5ErkJggg==")
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


@pytest.fixture
def patient(practice):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    return factories.make_patient(practice, given_name="Olivia", mobile_phone=PATIENT_PHONE)


def _text_in(client, body: str, **extra: str) -> None:
    form = inbound_form(body)
    form.update(extra)
    assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200


def test_a_text_arrives_is_answered_with_a_canned_reply_and_delivered(
        page, client, practice, patient):
    db.session.add(CannedReply(practice_id=practice.id, title="Parking",
                               body="Hi {first_name}, parking is free."))
    db.session.commit()
    user = factories.make_staff(practice, role="front_desk")
    sign_in(page, user)
    page.goto("/inbox")
    expect(page.get_by_text("No conversations here.")).to_be_visible()

    _text_in(client, "Is parking free?")
    row = page.locator(".inbox-row", has_text=patient.full_name)
    expect(row).to_be_visible(timeout=LIVE)
    expect(row).to_contain_text("Unread")
    expect(page).to_have_title(re.compile(r"^\(1\) Inbox"))

    row.get_by_role("link").click()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator(".thread-head")).to_contain_text(f"Assigned to {user.display_name}")
    page.get_by_label("Canned reply").select_option(label="Parking")
    expect(page.locator("#reply-body")).to_have_value("Hi Olivia, parking is free.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply sent to the outbox.")).to_be_visible()
    reply = page.locator(".item-outbound", has_text="Hi Olivia, parking is free.")
    expect(reply).to_contain_text("Scheduled")

    stats = dispatcher.run_once(dispatcher.Providers(sms=ConsoleSms(), email=ConsoleEmail(),
                                                     public_base_url="http://localhost"))
    assert stats.sent == 1
    sent = db.session.execute(select(Message).where(
        Message.sent_by_staff_id == user.id)).scalar_one()
    assert sent.body == "Hi Olivia, parking is free."
    status = post_twilio(client, f"/webhooks/twilio/status?m={sent.id}", {
        "MessageSid": sent.provider_message_id, "MessageStatus": "delivered",
        "AccountSid": "AC" + "a1" * 16, "To": PATIENT_PHONE})
    assert status.status_code == 200
    expect(reply).to_contain_text("Delivered", timeout=LIVE)
    expect(reply.locator(".tick")).to_have_text("✓✓")


def test_html_and_script_in_a_text_show_as_typed(page, client, practice, patient):
    _text_in(client, '<script>window.pwned = 1</script><b>bold</b>')
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto("/inbox")
    page.locator(".inbox-row").get_by_role("link").click()
    expect(page.locator(".item-inbound .item-body")).to_have_text(
        "<script>window.pwned = 1</script><b>bold</b>")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator(".item-inbound b").count() == 0


@responses.activate
def test_an_mms_picture_shows_in_the_thread(page, client, practice, patient):
    responses.add_passthru(re.compile(r"http://127\.0\.0\.1.*"))
    responses.get(MEDIA_URL, body=PNG, content_type="image/png")
    _text_in(client, "", NumMedia="1", MediaUrl0=MEDIA_URL, MediaContentType0="image/png")
    assert media.fetch_pending(fetch=TwilioMediaFetcher(account_sid="AC1",
                                                        auth_token="token")) == 1
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto("/inbox")
    page.locator(".inbox-row").get_by_role("link").click()
    picture = page.get_by_role("img", name="Picture sent by the patient")
    expect(picture).to_be_visible()
    assert picture.evaluate("image => image.naturalWidth") == 1


def test_an_opted_out_number_cannot_be_texted(page, client, practice, patient):
    _text_in(client, "STOP")
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto("/inbox?status=open")
    page.locator(".inbox-row").get_by_role("link").click()
    expect(page.locator(".opt-out-banner")).to_contain_text("This number opted out of texts")
    expect(page.locator("#reply-body")).to_be_disabled()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()


def test_two_staff_in_one_conversation_see_the_collision_warning(
        page, browser, live_server, client, practice, patient):
    _text_in(client, "Can someone call me?")
    alice = factories.make_staff(practice, role="front_desk")
    bob = factories.make_staff(practice, role="front_desk")
    sign_in(page, alice)
    page.goto("/inbox")
    page.locator(".inbox-row").get_by_role("link").click()

    other = browser.new_context(base_url=live_server, viewport={"width": 1024, "height": 768})
    try:
        bob_page = other.new_page()
        sign_in(bob_page, bob)
        bob_page.goto(page.url)
        expect(bob_page.locator(".collision")).to_contain_text(
            f"{alice.display_name} is viewing this conversation.")
        bob_page.locator("#reply-body").fill("Calling you now")
        expect(page.locator(".collision")).to_contain_text(
            f"{bob.display_name} is typing a reply", timeout=LIVE)
    finally:
        other.close()


def test_keyboard_moves_between_conversations_assigns_and_closes(page, client, practice,
                                                                 patient):
    _text_in(client, "First question")
    _text_in(client, "Second question", From="+13125550166")
    user = factories.make_staff(practice, role="front_desk")
    sign_in(page, user)
    page.goto("/inbox")

    def press(key: str) -> None:
        """A shortcut, once the page's scripts listen (a key pressed while the last one's
        page still loads is lost, as it would be for a person)."""
        page.wait_for_load_state("load")
        page.keyboard.press(key)

    press("j")
    expect(page.locator(".thread-items")).to_contain_text("Second question")
    press("j")
    expect(page.locator(".thread-items")).to_contain_text("First question")
    press("k")
    expect(page.locator(".thread-items")).to_contain_text("Second question")
    press("a")
    expect(page.locator(".thread-head")).to_contain_text(f"Assigned to {user.display_name}")
    press("e")
    expect(page.locator(".thread-head")).to_contain_text("Closed")
    expect(page.locator(".inbox-row")).to_have_count(1)
