"""A front-desk user's first minutes, in a real browser; and a patient page on a phone."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


def test_front_desk_signs_in_and_finds_a_patient_by_phone(page, practice, tmp_path):
    user = factories.make_staff(practice, role="front_desk")
    patient = factories.make_patient(practice, given_name="Rosa", family_name="Delgado",
                                     date_of_birth=date(1975, 5, 17),
                                     mobile_phone="+13125550177")
    factories.make_patient(practice, given_name="Tom", family_name="Baker")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(practice.name)
    expect(page.locator(".stat-card").first).to_contain_text("Patients")
    page.screenshot(path=tmp_path / "home-desktop.png", full_page=True)

    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page.get_by_role("heading", name="Recently updated")).to_be_visible()
    page.get_by_role("searchbox").fill("312.555.0177")
    with page.expect_response(re.compile(r"/patients/search$")) as searched:
        page.get_by_role("button", name="Search").click()
    assert searched.value.request.headers.get("hx-request") == "true"  # htmx runs under CSP
    assert searched.value.request.method == "POST"
    assert "q=312.555.0177" in searched.value.request.post_data
    expect(page.get_by_role("heading", name="1 patient found")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/patients$"))  # the search is in no URL
    results = page.locator("table.patient-list tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("(312) 555-0177")
    page.screenshot(path=tmp_path / "search-desktop.png", full_page=True)

    page.get_by_role("link", name="Delgado, Rosa").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Delgado")
    expect(page.get_by_text("May 17, 1975")).to_be_visible()
    page.screenshot(path=tmp_path / "record-desktop.png", full_page=True)

    # htmx requests carry the CSRF token (frontdesk.js): a POST through htmx is accepted.
    status = page.evaluate("""() => new Promise(resolve => {
        document.body.addEventListener("htmx:afterRequest",
            event => resolve(event.detail.xhr.status), {once: true});
        htmx.ajax("POST", "/sign-out", {swap: "none"});
    })""")
    assert status == 200
    page.goto("/patients")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_patient_page_fits_a_phone(browser, live_server, practice, tmp_path):
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto("/a-link-that-is-gone?lang=es")
        expect(page.get_by_role("heading", level=1)).to_have_text("No encontramos esa página")
        expect(page.locator(".practice-name")).to_have_text(practice.name)
        call = page.get_by_role("link", name="(312) 555-0100")
        expect(call).to_have_attribute("href", "tel:+13125550100")
        assert call.bounding_box()["height"] >= 40  # a comfortable tap target
        english = page.get_by_role("link", name="English")
        assert english.bounding_box()["height"] >= 44
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        shot = tmp_path / "not-found-phone.png"
        page.screenshot(path=shot, full_page=True)
        assert shot.stat().st_size > 0
        english.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that page")
    finally:
        context.close()
