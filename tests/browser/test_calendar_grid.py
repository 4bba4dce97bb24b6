"""The staff calendar's day grid in a real browser at 1280x900: three providers side by side
without the grid spilling out of the page, appointment blocks, and an open slot that leads to
the booking form with the time chosen."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.core.clock import utcnow
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from tests import factories

pytestmark = pytest.mark.browser
CHICAGO = ZoneInfo("America/Chicago")


def test_front_desk_reads_the_day_grid_and_books_from_an_open_slot(page, practice):
    """Like the demo: providers working 08:00-12:00 and 13:00-17:00 in Chicago, booked
    mornings, one afternoon of time off."""
    location = factories.make_location(practice, name="Lakeside", timezone="America/Chicago")
    cleaning = factories.make_appointment_type(practice, name="Cleaning", duration_minutes=60)
    today = utcnow().astimezone(CHICAGO).date()
    day = today + timedelta(days=7 - today.weekday())  # next Monday

    def at(hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=CHICAGO).astimezone(UTC)

    providers = []
    for name in ("Carter", "Kim", "O'Connor"):
        provider = factories.make_provider(practice, locations=[location], family_name=name)
        calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                        appointment_type_ids=[cleaning.id])
        calendars.set_weekly_hours(
            practice_id=practice.id, provider_id=provider.id, location_id=location.id,
            intervals=[WeeklyInterval(d, start, end) for d in range(5)
                       for start, end in ((time(8), time(12)), (time(13), time(17)))])
        providers.append(provider)
        for hour in (8, 9, 10, 11):
            patient = factories.make_patient(practice, family_name=f"{name}patient{hour}",
                                             given_name="Sam")
            factories.make_appointment(patient, provider, location, start_at=at(hour),
                                       appointment_type=cleaning)
    calendars.add_time_off(practice_id=practice.id, provider_id=providers[2].id,
                           starts_at=at(13), ends_at=at(17), label="Conference")

    staff = factories.make_staff(practice, role="front_desk")
    page.goto("/sign-in")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/schedule?location_id={location.id}&appointment_type_id={cleaning.id}"
              f"&date={day.isoformat()}")

    grid = page.get_by_role("table")
    expect(grid.get_by_role("columnheader")).to_have_text(
        ["Time", "Dr. Ana Carter", "Dr. Ana Kim", "Dr. Ana O'Connor"])
    expect(grid.locator("td.cal-block")).to_have_count(12)
    expect(grid.get_by_role("link", name=re.compile("Carterpatient8, Sam"))).to_be_visible()
    expect(grid.locator("td.cal-off")).to_have_text("Conference")
    scroller = page.locator(".cal-scroll")
    assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth"), "no sideways scrolling"
    last_header = grid.get_by_role("columnheader", name="Dr. Ana O'Connor").bounding_box()
    assert last_header["x"] + last_header["width"] <= 1280

    slot = grid.get_by_role("link", name=re.compile(r"^Book 1:00\sPM$")).first
    slot.scroll_into_view_if_needed()
    slot.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    expect(page).to_have_url(re.compile(r"/schedule/book\?.*provider_id="))
    expect(page.get_by_text(re.compile(r"1:00\sPM"))).not_to_have_count(0)
