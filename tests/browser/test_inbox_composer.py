"""The inbox composer in a real browser, CSRF on: a refused reply keeps the typed text and the
chosen send-later time, the reason by the field, without reloading the page (htmx), and as a
plain form post with scripts off; once corrected the same text goes."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
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
TYPED = "Hi Olivia,\nparking is free behind the building <b>after 5</b>."


@pytest.fixture
def conversation(client, practice):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    factories.make_patient(practice, given_name="Olivia", mobile_phone=PATIENT_PHONE)
    assert post_twilio(client, "/webhooks/twilio/sms",
                       inbound_form("Is parking free?")).status_code == 200
    return factories.make_staff(practice, role="front_desk")


def _open(page, user) -> None:
    sign_in(page, user)
    page.goto("/inbox")
    page.locator(".inbox-row").get_by_role("link").click()
    expect(page.locator("#reply-body")).to_be_visible()


def _refuse(page) -> None:
    """Type a reply, choose a send-later time that has passed, send: refused, all kept."""
    page.locator("#reply-body").fill(TYPED)
    page.get_by_text("Send later").click()
    past = (utcnow() - timedelta(hours=2)).astimezone(ZoneInfo("America/Chicago"))
    page.locator('input[name="send_at"]').fill(past.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#send-at-error")).to_have_text(
        "Choose a time from now to 90 days ahead.")
    expect(page.locator(".composer-refused")).to_be_visible()
    expect(page.locator("#reply-body")).to_have_value(TYPED)
    expect(page.locator('input[name="send_at"]')).to_have_value(
        past.strftime("%Y-%m-%dT%H:%M"))


def _corrected_and_sent(page) -> None:
    page.locator('input[name="send_at"]').fill("")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply sent to the outbox.")).to_be_visible()
    expect(page.locator(".item-outbound")).to_contain_text("parking is free behind")
    expect(page.locator("#reply-body")).to_have_value("")
    sent = db.session.execute(select(Message.body).where(
        Message.sent_by_staff_id.is_not(None))).scalars().all()
    assert sent == [TYPED]


def test_a_refused_reply_keeps_the_text_without_reloading_the_page(page, conversation):
    _open(page, conversation)
    page.evaluate("window.notReloaded = true")  # a reload would lose it
    _refuse(page)
    assert page.evaluate("window.notReloaded") is True  # only the composer came back
    _corrected_and_sent(page)


def test_a_refused_reply_keeps_the_text_with_scripts_off(browser, live_server, conversation):
    context = browser.new_context(base_url=live_server, java_script_enabled=False,
                                  viewport={"width": 1024, "height": 768})
    try:
        page = context.new_page()
        _open(page, conversation)
        _refuse(page)
        _corrected_and_sent(page)
    finally:
        context.close()
