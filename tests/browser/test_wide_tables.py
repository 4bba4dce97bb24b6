"""At a laptop's 1366×768 the audit trail's Detail column and the waitlist's Remove button
are on the screen, not cut off past its edge or hidden in a scrolled-away table part."""

from __future__ import annotations

import pytest

from app.core import tenancy
from app.extensions import db
from app.security import audit
from tests import factories
from tests.browser.staff import sign_in
from tests.scheduling.test_waitlist import book_and_cancel, make_clinic, slot_at, wait

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def laptop(browser, live_server):  # noqa: ANN001, ANN201
    context = browser.new_context(base_url=live_server, viewport=LAPTOP)
    page = context.new_page()
    yield page
    context.close()


def _on_screen(page, locator) -> None:  # noqa: ANN001
    """The element is inside the viewport and not clipped by a scrolling ancestor."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    visible = locator.evaluate("""element => {
        const box = element.getBoundingClientRect();
        for (let up = element.parentElement; up; up = up.parentElement) {
            const style = getComputedStyle(up);
            if (style.overflowX !== "visible") {
                const edge = up.getBoundingClientRect();
                if (box.right > edge.right + 1 || box.left < edge.left - 1) return false;
            }
        }
        return true;
    }""")
    assert visible, "clipped by a scrolling container"


def test_the_audit_trails_detail_column_is_on_a_laptop_screen(laptop, practice):
    admin = factories.make_staff(practice, role="admin",
                                 email="administrator.of.the.practice@lakeside-dental.example")
    patient = factories.make_patient(practice, given_name="Maximiliano",
                                     family_name="Castellanos-Villanueva")
    with tenancy.acting_for(practice.id):
        for n in range(3):  # a page of the message log names every message shown
            audit.record(audit.Action.CONVERSATION_VIEW, patient_id=patient.id,
                         object_type="conversation", object_id=123456 + n,
                         detail={"page": 1, "message_ids": list(range(100000, 100025))})
        db.session.commit()
    sign_in(laptop, admin)
    laptop.goto("/admin/audit")
    _on_screen(laptop, laptop.get_by_role("columnheader", name="Detail"))
    _on_screen(laptop, laptop.locator("tbody tr").first.locator("td").last)


def test_the_waitlists_remove_button_is_on_a_laptop_screen(laptop, practice):
    clinic = make_clinic(practice)
    clinic.location.name = "Lakeside Family Dental — Midtown Manhattan Office"
    for provider in (clinic.rivera, clinic.colleague):
        provider.family_name = "Castellanos-Villanueva"
    for _ in range(3):  # every column as long as it gets: what is offered, on what days
        wait(clinic, providers=(clinic.rivera, clinic.colleague), weekdays=(0, 1, 2, 3, 4, 5),
             window=("14:00", "16:30"))
    book_and_cancel(clinic, slot_at(clinic, "15:00"))
    sign_in(laptop, factories.make_staff(practice, role="front_desk"))
    laptop.goto("/schedule/waitlist?lang=es")
    remove = laptop.locator("table.waitlist summary").first
    _on_screen(laptop, remove)
    # the button is whole: its word and its open/close marker fit side by side in it (the
    # marker used to wrap below the word, half cut off at the table's edge)
    assert remove.evaluate("""element => {
        const range = document.createRange();
        range.selectNodeContents(element);
        const text = range.getBoundingClientRect().width;
        const marker = getComputedStyle(element, "::after");
        const markerWidth = marker.display === "none" || marker.content === "none" ? 0
            : parseFloat(marker.width) + parseFloat(marker.marginLeft || 0);
        const style = getComputedStyle(element);
        const room = element.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
        return text + markerWidth <= room + 1;
    }"""), "the Remove button's marker does not fit beside its word"
    remove.click()
    _on_screen(laptop, laptop.locator("table.waitlist button[type=submit]").first)
