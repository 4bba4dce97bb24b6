"""A record id no id column can hold, in a URL, a query string or a form, is a 404 or the
field's error — never a database overflow (a 500 on PostgreSQL, OverflowError on SQLite)."""

from __future__ import annotations

import pytest

HUGE = "100000000000000000000"


@pytest.mark.parametrize("url", [
    f"/patients/{HUGE}",
    f"/patients/{HUGE}/messages",
    f"/patients/{HUGE}/consent",
    f"/admin/users/{HUGE}",
    f"/schedule/appointments/{HUGE}",
    f"/settings/calendars/types/{HUGE}",
    f"/settings/calendars/providers/{HUGE}",
])
def test_an_id_past_the_column_range_in_a_url_is_not_found(login, url):
    assert login("admin").get(url).status_code == 404


@pytest.mark.parametrize("url", [
    f"/schedule?location_id={HUGE}",
    f"/schedule/week?provider_id={HUGE}&appointment_type_id={HUGE}",
    f"/schedule/waitlist?location_id={HUGE}&appointment_type_id={HUGE}",
    f"/schedule/book?appointment_type_id={HUGE}&provider_id={HUGE}&location_id={HUGE}"
    "&start=2030-01-07T15:00:00%2B00:00",
])
def test_an_id_past_the_column_range_in_a_query_is_refused_plainly(login, url):
    response = login("admin").get(url)
    assert response.status_code in (200, 302, 400, 404), response.status_code


@pytest.mark.parametrize("url", ["/schedule/waitlist", "/schedule/book"])
def test_an_id_past_the_column_range_in_a_form_is_a_field_error(login, url):
    client = login("admin")
    client.get("/schedule")  # a page that sets the CSRF token in the session
    response = client.post(url, data={"patient_id": HUGE, "appointment_type_id": HUGE,
                                      "location_id": HUGE, "provider_id": HUGE,
                                      "start": "2030-01-07T15:00:00+00:00"})
    assert response.status_code in (302, 400, 404), response.status_code
