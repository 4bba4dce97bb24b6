"""A new practice goes live without the demo: on an empty migrated database an admin signs
in, finishes the set-up checklist in the browser, and a patient books online from a phone."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.patients.models import Patient
from app.practice.models import Practice
from app.scheduling.models import Appointment
from tests.browser.test_self_scheduling import texted_code

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "owner@harbor.example"
ADMIN_PASSWORD = "harbor dental opens today"  # noqa: S105
PATIENTS_CSV = ("external_id,first_name,last_name,date_of_birth,mobile_phone\n"
                "H-1,Alma,Reyes,1961-03-09,(312) 555-0161\n"
                "H-2,Ben,Cole,1988-11-30,(312) 555-0162\n"
                "H-3,Cai,Wu,31/02/1990,\n")
DESKTOP = {"width": 1366, "height": 800}
REFUSED_FORM = "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"


def start_a_practice(app) -> Practice:  # noqa: ANN001
    """The practice a new customer starts with (`flask practice create`): no location,
    provider or patient."""
    result = app.test_cli_runner().invoke(args=[
        "practice", "create", "--name", "Harbor Dental", "--phone", "+1 312 555 0188",
        "--timezone", "America/Chicago"])
    assert result.exit_code == 0, result.output
    return db.session.get(Practice, int(result.output.splitlines()[0]))


def create_admin(app) -> None:  # noqa: ANN001
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", ADMIN_EMAIL, "--role", "admin", "--name", "Hana Park",
        "--password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output


def watch_errors(page) -> list[str]:  # noqa: ANN001
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def step(page, name: str):  # noqa: ANN001, ANN201
    return page.locator(f"#step-{name}")


def test_a_new_practice_sets_up_in_the_browser_and_a_patient_books(
        app, browser, live_server, tmp_path):
    assert db.session.execute(select(Practice)).first() is None  # no demo seed
    start_a_practice(app)
    create_admin(app)
    csv_path = tmp_path / "patients.csv"
    csv_path.write_text(PATIENTS_CSV, encoding="utf-8")

    context = browser.new_context(base_url=live_server, viewport=DESKTOP)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto("/sign-in")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/setup$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Set up your practice")
        for name in ("locations", "providers", "calendars", "patients"):
            expect(step(page, name)).to_contain_text("Not done")
        page.screenshot(path=tmp_path / "checklist-empty.png", full_page=True)

        # A location
        step(page, "locations").get_by_role("link", name="Locations").click()
        page.get_by_role("button", name="Add a location").click()
        page.get_by_label("Name").fill("Harbor Main")
        page.get_by_label("Street address").fill("12 Harbor Dr")
        page.get_by_label("City").fill("Chicago")
        page.get_by_label("State", exact=True).fill("Illinois")
        page.get_by_label("Postal code").fill("60601")
        page.get_by_label("Phone").fill("(312) 555-0150")
        page.get_by_label("Time zone").fill("America/Chicago")
        page.screenshot(path=tmp_path / "location-form.png", full_page=True)
        page.get_by_role("button", name="Save").click()
        expect(page.locator("main")).to_contain_text("Saved the location Harbor Main.")
        expect(page.get_by_role("cell", name="(312) 555-0150")).to_be_visible()

        # A provider: a mistyped NPI is named beside its field
        page.goto("/setup")
        step(page, "providers").get_by_role("link", name="Providers").click()
        page.get_by_role("button", name="Add a provider").click()
        page.get_by_label("Prefix (e.g. Dr.)").fill("Dr.")
        page.get_by_label("Given name").fill("Iris")
        page.get_by_label("Family name").fill("Moreno")
        page.get_by_label("Credentials (e.g. DDS, MD)").fill("DDS")
        page.get_by_label("NPI (ten digits)").fill("1234567890")
        page.get_by_label("Harbor Main").check()
        page.get_by_role("button", name="Save").click()
        npi_error = page.locator("#npi + .field-error")
        expect(npi_error).to_contain_text("'1234567890' is not a valid NPI")
        page.screenshot(path=tmp_path / "provider-bad-npi.png", full_page=True)
        page.get_by_label("NPI (ten digits)").fill("1234567893")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("main")).to_contain_text("Saved the provider Dr. Iris Moreno.")
        expect(page.get_by_role("row", name=re.compile("Dr. Iris Moreno"))).to_contain_text(
            "Harbor Main")

        # An appointment type and weekly hours, in the calendar settings
        page.goto("/setup")
        step(page, "calendars").get_by_role("link", name="Calendar settings").click()
        page.get_by_role("button", name="Add an appointment type").click()
        page.get_by_label("Name (patients see it)").fill("Checkup")
        page.get_by_label("Length (minutes)").fill("30")
        page.get_by_label("For new patients").check()  # the patient below is new to us
        page.get_by_label("Dr. Iris Moreno").check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("main")).to_contain_text("Saved the appointment type Checkup.")
        page.get_by_role("link", name="Dr. Iris Moreno").click()
        for day in range(7):
            page.locator(f"#days-{day}-start_1").fill("08:00")
            page.locator(f"#days-{day}-end_1").fill("17:00")
        page.get_by_role("button", name="Save weekly hours").click()
        expect(page.locator("main")).to_contain_text("Saved the weekly hours.")

        # Patients from a CSV file, with the per-line report
        page.goto("/setup")
        step(page, "patients").get_by_role("link", name="Import a CSV file").click()
        page.get_by_label("CSV file").set_input_files(csv_path)
        page.get_by_role("button", name="Import the file").click()
        report = page.locator(".import-report")
        expect(report).to_contain_text("Import finished: 3 rows")
        expect(report).to_contain_text("2 new")
        expect(report.locator(".rejected-rows")).to_contain_text("line 4:")
        page.screenshot(path=tmp_path / "import-report.png", full_page=True)

        # A colleague, invited by a link they open themselves
        page.get_by_role("link", name="Set-up").first.click()
        step(page, "staff").get_by_role("link", name="Invite staff").click()
        page.get_by_label("Work email").fill("desk@harbor.example")
        page.get_by_role("button", name="Create the invitation link").click()
        link = page.get_by_label("Invitation link").input_value()
        invitee = browser.new_context(base_url=live_server, viewport=DESKTOP).new_page()
        invitee.goto(link.removeprefix(app.config["PUBLIC_BASE_URL"]))
        invitee.get_by_label("Your name").fill("Omar Diaz")
        invitee.get_by_label("Choose a password").fill("omar's own long password")
        invitee.get_by_label("The password again").fill("omar's own long password")
        invitee.get_by_role("button", name="Create my account").click()
        expect(invitee.locator("main")).to_contain_text("Your account is ready")
        invitee.get_by_label("Email").fill("desk@harbor.example")
        invitee.get_by_label("Password").fill("omar's own long password")
        invitee.get_by_role("button", name="Sign in").click()
        expect(invitee.locator(".who")).to_contain_text("Omar Diaz")
        invitee.context.close()

        page.get_by_role("link", name="Set-up").first.click()
        for name in ("locations", "providers", "calendars", "patients", "staff"):
            expect(step(page, name)).to_contain_text("Done")
        page.screenshot(path=tmp_path / "checklist-done.png", full_page=True)
    finally:
        context.close()
    # The one refusal: the form with the bad NPI came back as 400, as it should.
    assert errors == [REFUSED_FORM], f"browser console errors: {errors}"
    db.session.rollback()
    assert {p.family_name for p in db.session.execute(select(Patient)).scalars()} == {
        "Reyes", "Cole"}

    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    page = phone.new_page()
    errors = watch_errors(page)
    try:
        page.goto("/book/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
        page.get_by_role("button", name=re.compile("Checkup")).click()
        page.get_by_role("button", name=re.compile("Harbor Main")).click()
        page.get_by_role("button", name="First available").click()
        page.locator("main a[role=button]").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")
        page.locator("main form button").first.click()
        page.get_by_label("First name").fill("Noor")
        page.get_by_label("Last name").fill("Haddad")
        page.get_by_label("Date of birth").fill("1993-07-21")
        page.get_by_label("Mobile number").fill("(312) 555-0190")
        page.get_by_role("button", name="Text me a code").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
        page.get_by_label("Code").fill(texted_code())
        page.get_by_role("button", name="Confirm appointment").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are booked")
        page.screenshot(path=tmp_path / "booked-phone.png", full_page=True)
    finally:
        phone.close()
    assert errors == [], f"browser console errors: {errors}"
    db.session.rollback()
    appointment = db.session.execute(select(Appointment)).scalar_one()
    assert (appointment.patient.family_name, appointment.provider.family_name,
            appointment.location.name) == ("Haddad", "Moreno", "Harbor Main")
