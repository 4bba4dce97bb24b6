"""A patient books (or joins the waitlist) on a phone, end to end, with the code the console
SMS provider sent."""

import re
from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.messaging import dispatcher
from app.messaging.cli import build_providers
from app.messaging.models import Message
from app.scheduling.models import Appointment, WaitlistEntry
from tests.scheduling.test_self_service import make_office

pytestmark = pytest.mark.browser


def texted_code() -> str:
    """What the worker sends: run it once with the console provider, read the sent text."""
    dispatcher.run_once(build_providers())
    body = db.session.execute(select(Message.body).where(Message.template == "booking_code")
                              .order_by(Message.id.desc()).limit(1)).scalar_one()
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_a_patient_books_from_a_phone_with_a_texted_code(browser, live_server, practice,
                                                         tmp_path):
    make_office(practice)
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    try:
        page.goto("/book/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
        page.get_by_role("button", name=re.compile("Cleaning")).click()
        page.get_by_role("button", name=re.compile("Lakeside")).click()
        page.get_by_role("button", name="First available").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a day")
        page.locator("main a[role=button]").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")
        chosen = page.locator("main form button").first.inner_text()
        page.locator("main form button").first.click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Who is the appointment for?")
        page.get_by_label("First name").fill("Rosa")
        page.get_by_label("Last name").fill("Delgado")
        page.get_by_label("Date of birth").fill("1975-05-17")
        page.get_by_label("Mobile number").fill("(312) 555-0177")
        page.screenshot(path=tmp_path / "identity-phone.png", full_page=True)
        page.get_by_role("button", name="Text me a code").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
        page.get_by_label("Code").fill(texted_code())
        page.get_by_role("button", name="Confirm appointment").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("You are booked")
        expect(page.locator("main")).to_contain_text(chosen)
        expect(page.get_by_role("main").get_by_role("link", name="(312) 555-0101")).to_be_visible()
        expect(page.get_by_role("button", name="Add to Google Calendar")).to_have_attribute(
            "href", re.compile(r"^https://calendar\.google\.com/"))
        with page.expect_download() as download:
            page.get_by_role("button", name="Download calendar file (.ics)").click()
        assert b"SUMMARY:Cleaning at Lakeside Family Dental" in Path(
            download.value.path()).read_bytes()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        page.screenshot(path=tmp_path / "booked-phone.png", full_page=True)
    finally:
        context.close()
    db.session.rollback()
    appointment = db.session.execute(select(Appointment)).scalar_one()
    assert appointment.patient.family_name == "Delgado" and appointment.source == "patient"
    assert not [url for url in urls if re.search(r"Rosa|Delgado|1975|0177", url)]
    assert errors == [], f"browser console errors: {errors}"


def test_a_patient_joins_the_waitlist_from_a_phone(browser, live_server, practice, tmp_path):
    make_office(practice)
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/book/")
        page.get_by_role("button", name=re.compile("Cleaning")).click()
        page.get_by_role("button", name=re.compile("Lakeside")).click()
        page.get_by_role("button", name="First available").click()
        page.locator("main a[role=button]").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")
        page.get_by_role("link", name="Join the waitlist").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Join the waitlist")
        for day in ("Saturday", "Sunday"):
            page.get_by_label(day).uncheck()
        page.get_by_label("Mornings (before noon)").check()
        page.screenshot(path=tmp_path / "waitlist-phone.png", full_page=True)
        page.get_by_role("button", name="Continue").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Who is the appointment for?")
        expect(page.locator(".booking-summary")).to_contain_text(
            "Mon, Tue, Wed, Thu, Fri · Mornings (before noon)")
        page.get_by_label("First name").fill("Rosa")
        page.get_by_label("Last name").fill("Delgado")
        page.get_by_label("Date of birth").fill("1975-05-17")
        page.get_by_label("Mobile number").fill("(312) 555-0177")
        page.get_by_role("button", name="Text me a code").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
        page.get_by_label("Code").fill(texted_code())
        page.get_by_role("button", name="Join the waitlist").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("You are on the waitlist")
        expect(page.locator("main")).to_contain_text("Reply YES to take the time")
        expect(page.locator("main")).to_contain_text("Reply STOP")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        page.screenshot(path=tmp_path / "waitlist-joined-phone.png", full_page=True)
    finally:
        context.close()
    db.session.rollback()
    entry = db.session.execute(select(WaitlistEntry)).scalar_one()
    assert (entry.weekdays, entry.source, entry.latest_time) == ("0,1,2,3,4", "patient",
                                                                 time(11, 59))
    assert errors == [], f"browser console errors: {errors}"


def test_after_too_many_tries_a_new_code_comes_to_the_same_phone(browser, live_server, practice):
    """The locked code step offers one thing, a new code; it is texted to the phone given
    (CSRF on, as in production) and the patient books without retyping who they are."""
    make_office(practice)
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto("/book/")
        page.get_by_role("button", name=re.compile("Cleaning")).click()
        page.get_by_role("button", name=re.compile("Lakeside")).click()
        page.get_by_role("button", name="First available").click()
        page.locator("main a[role=button]").first.click()
        page.locator("main form button").first.click()
        page.get_by_label("First name").fill("Rosa")
        page.get_by_label("Last name").fill("Delgado")
        page.get_by_label("Date of birth").fill("1975-05-17")
        page.get_by_label("Mobile number").fill("(312) 555-0177")
        page.get_by_role("button", name="Text me a code").click()
        wrong = "000000" if texted_code() != "000000" else "111111"
        for _ in range(6):
            page.get_by_label("Code").fill(wrong)
            page.get_by_role("button", name="Confirm appointment").click()
            if page.get_by_role("alert").count():
                break
        expect(page.get_by_role("alert")).to_have_text(
            "Too many tries. Please ask for a new code.")
        expect(page.get_by_role("button", name="Confirm appointment")).to_have_count(0)
        page.get_by_role("button", name="Send a new code").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
        expect(page.get_by_role("status")).to_have_text(
            "We texted you a new code. It expires in 10 minutes.")
        page.get_by_label("Code").fill(texted_code())
        page.get_by_role("button", name="Confirm appointment").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are booked")
    finally:
        context.close()
    db.session.rollback()
    addresses = db.session.execute(select(Message.address).where(
        Message.template == "booking_code")).scalars().all()
    assert addresses == ["+13125550177", "+13125550177"]
