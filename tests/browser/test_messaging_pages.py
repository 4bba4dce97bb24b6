"""Messaging screens in a real browser, CSRF on: the SMS counter, the dev outbox, the log's
htmx paging and the one-click opt-out."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.messaging import inbound
from tests import factories
from tests.browser.staff import sign_in
from tests.factories import DEPLOYMENT_NUMBER

pytestmark = pytest.mark.browser


def test_a_developer_counts_segments_queues_a_text_and_sends_it(page, practice):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    patient = factories.make_patient(practice, mobile_phone="+13125550177", email=None)
    sign_in(page, factories.make_staff(practice, role="admin"))

    page.get_by_role("link", name="Dev outbox").click()
    counter = page.locator("#body-count")
    page.get_by_label("Patient number").fill(str(patient.id))
    page.get_by_label("Text").fill("a" * 161)
    expect(counter).to_have_text("161 characters · 2 segments (GSM-7)")
    page.get_by_label("Text").fill("See you soon 😀 Lakeside")
    expect(counter).to_have_text("24 characters · 1 segment (Unicode)")

    page.get_by_role("button", name="Queue text").click()
    expect(page.get_by_text(re.compile(r"Queued test text #\d+"))).to_be_visible()
    page.get_by_role("button", name="Send due messages now").click()
    expect(page.get_by_text("Sent 1, deferred 0")).to_be_visible()
    expect(page.locator("table.dev-outbox")).to_contain_text("See you soon 😀 Lakeside")


def test_front_desk_pages_the_log_and_honours_a_likely_opt_out(page, practice):
    patient = factories.make_patient(practice, mobile_phone="+13125550178")
    start = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    for n in range(27):
        factories.make_message(patient, body=f"Reminder {n:02d}",
                               created_at=start + timedelta(minutes=n))
    inbound.receive_sms(message_sid="SM" + "8" * 32, sender="+13125550178",
                        body="no more messages please", to=DEPLOYMENT_NUMBER)
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto(f"/patients/{patient.id}")

    log = page.locator("table.message-log tbody")
    expect(log.locator("tr")).to_have_count(26)  # 25 messages and the "older" row
    page.get_by_role("link", name="Older messages").click()
    expect(log).to_contain_text("Reminder 00")
    expect(page).to_have_url(re.compile(rf"/patients/{patient.id}$"))  # swapped in by htmx

    page.locator(".opt-out-banner").get_by_role("button",
                                                name="Stop texts to this number").click()
    expect(page.get_by_text("Texts to this number are stopped")).to_be_visible()
    expect(page.locator(".opt-out-banner")).to_have_count(0)
    expect(page.locator('[data-consent="sms-transactional"]')).to_contain_text("Off")
