"""A payment link end to end on phones, CSRF on: front desk sends it from the account page,
the patient pays on the demo checkout, and the staff page's balance updates by itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.billing.models import PaymentRequest
from app.extensions import db
from app.messaging.models import Message
from tests import factories
from tests.billing.helpers import charge, grant_billing

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(live_server: str, _server, make_app) -> str:  # noqa: ANN001
    """The live server with PUBLIC_BASE_URL set to it, so links and the demo checkout's
    address point back at it."""
    _server[1].app = make_app(WTF_CSRF_ENABLED=True, PUBLIC_BASE_URL=live_server)
    return live_server


@pytest.fixture
def phones(browser: Any, served: str) -> Iterator[Any]:
    contexts, errors = [], []

    def open_phone() -> Any:
        context = browser.new_context(base_url=served, viewport=PHONE, is_mobile=True)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_phone
    for context in contexts:
        context.close()
    assert errors == [], f"browser console errors: {errors}"


def test_staff_send_a_link_the_patient_pays_and_the_balance_updates_live(phones, practice):
    patient = factories.make_patient(practice)
    charge(patient, 8500, "Visit on 2026-06-01")
    grant_billing(patient)
    user = factories.make_staff(practice, role="front_desk")

    staff = phones()
    staff.goto("/sign-in")
    staff.get_by_label("Email").fill(user.email)
    staff.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"/billing/patients/{patient.id}")
    balance = staff.locator("#live-balance strong")
    expect(balance).to_have_text("$85.00")
    staff.get_by_role("button", name="Send link").click()
    expect(staff.get_by_text("Payment link for $85.00 queued by sms")).to_be_visible()

    sent = db.session.execute(select(PaymentRequest)).scalar_one()
    url = json.loads(db.session.get(Message, sent.message_id).context)["url"]
    patient_phone = phones()
    patient_phone.goto(url)
    expect(patient_phone.get_by_text("Lakeside Family Dental").first).to_be_visible()
    patient_phone.get_by_role("button", name="Pay $85.00 by card").click()
    patient_phone.get_by_role("button", name="Try a card that is declined").click()
    expect(patient_phone.get_by_role("alert")).to_contain_text("declined")
    expect(balance).to_have_text("$85.00")
    patient_phone.get_by_role("button", name="Pay with a test card that works").click()
    expect(patient_phone.get_by_role("status")).to_contain_text("approved")

    expect(balance).to_have_text("$0.00", timeout=10_000)
    staff.reload()
    expect(staff.locator("table.requests .request-state").first).to_have_text("Paid")
