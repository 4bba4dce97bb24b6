"""Patient screens in a real browser, CSRF on: add a patient, change a mobile number (told
what it means for consent), and merge two duplicates (the visit and the messages follow)."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.core.clock import utcnow
from tests import factories
from tests.browser.staff import sign_in

pytestmark = pytest.mark.browser


def test_front_desk_adds_a_patient(page, practice):
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("button", name="Add a patient").click()
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Garcia Lopez")
    page.get_by_label("Date of birth (YYYY-MM-DD)").fill("1984-03-09")
    page.get_by_label("Mobile phone").fill("(312) 555-0134")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Patient added.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Garcia Lopez")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("searchbox").fill("Maria Garcia")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Garcia Lopez, Maria")).to_be_visible()


def test_front_desk_changes_a_mobile_number_and_is_told_about_consent(page, practice):
    patient = factories.make_patient(practice, given_name="Olivia", family_name="Foster",
                                     mobile_phone="+13125550188")
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("button", name="Edit details").click()
    page.get_by_label("Mobile phone").fill("312-555-0199")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Texts now go to (312) 555-0199")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("(312) 555-0199")
    expect(page.locator("#consent")).to_contain_text("(312) 555-0199")


def test_front_desk_merges_two_duplicates_and_the_visit_and_messages_follow(page, practice):
    born = date(1988, 4, 2)
    olivia = factories.make_patient(practice, given_name="Olivia", family_name="Foster",
                                    date_of_birth=born, mobile_phone="+13125550161")
    liv = factories.make_patient(practice, given_name="Liv", family_name="Foster",
                                 date_of_birth=born, mobile_phone="+13125550162")
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    factories.make_appointment(liv, provider, location,
                               start_at=(utcnow() + timedelta(days=5)).replace(microsecond=0))
    factories.make_message(liv, body="See you Tuesday, Liv")
    sign_in(page, factories.make_staff(practice, role="front_desk"))
    page.goto("/patients")
    page.get_by_role("button", name="Duplicate records").click()
    duplicates = page.locator("#likely-duplicates")
    expect(duplicates).to_contain_text("Foster, Liv")
    duplicates.get_by_role("button", name="Compare and merge").click()
    page.get_by_label(f"Keep #{olivia.id}").check()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("Records merged")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Olivia Foster")
    expect(page.locator("#merged-from")).to_contain_text(f"#{liv.id}")
    expect(page.locator("section", has_text="Upcoming appointments").locator("table")
           ).to_have_count(1)
    expect(page.locator("#messages")).to_contain_text("See you Tuesday, Liv")
    page.goto(f"/patients/{liv.id}")
    expect(page.get_by_text("That record was merged into this one.")).to_be_visible()
