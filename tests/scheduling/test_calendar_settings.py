"""The managers' calendar settings screens: appointment types, weekly hours per location
(local times across DST, clashes between locations), time off and extra hours."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db as _db
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import AppointmentType, ScheduleException, WorkingHours
from tests import factories

NEW_YORK, CHICAGO = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
# US daylight saving time starts on Sunday, March 14, 2027.
BEFORE_DST, AFTER_DST = date(2027, 3, 8), date(2027, 3, 15)  # Mondays


@dataclass
class Office:
    practice: Practice
    manhattan: Location
    denver: Location
    provider: Provider
    exam: AppointmentType


@pytest.fixture
def office(practice: Practice) -> Office:
    """A provider working in New York and Denver who offers a 30-minute exam."""
    manhattan = factories.make_location(practice, name="Manhattan", timezone="America/New_York",
                                        state="NY")
    denver = factories.make_location(practice, name="Denver", timezone="America/Denver",
                                     state="CO")
    provider = factories.make_provider(practice, locations=[manhattan, denver],
                                       family_name="Rivera")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    exam.min_notice_minutes, exam.max_days_ahead = 0, 730
    _db.session.commit()
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[exam.id])
    return Office(practice, manhattan, denver, provider, exam)


def page_text(response) -> str:  # noqa: ANN001
    return html.unescape(response.get_data(as_text=True))


def week_form(location: Location, monday: tuple[str, str] | None = None,
              **extra: str) -> dict[str, str]:
    data = {"location_id": str(location.id), **extra}
    if monday:
        data["days-0-start_1"], data["days-0-end_1"] = monday
    return data


def open_slots(office: Office, day: date, location: Location | None = None,
               zone: ZoneInfo = NEW_YORK) -> list[str]:
    """The day's open exam times at the location, as local HH:MM."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    found = slots.find_open_slots(appointment_type_id=office.exam.id,
                                  location_id=(location or office.manhattan).id,
                                  start=start, end=start + timedelta(days=1),
                                  now=start - timedelta(days=1))
    return [f"{slot.start.astimezone(zone):%H:%M}" for slot in found]


def exception_form(**fields: str) -> dict[str, str]:
    """The time off / extra hours form's fields, as the page names them."""
    return {f"exception-{name}": value for name, value in fields.items()}


def type_form(**changes: object) -> dict[str, object]:
    return {"name": "Whitening consult", "duration_minutes": "45",
            "buffer_before_minutes": "0", "buffer_after_minutes": "15",
            "bookable_online": "y", "active": "y", "min_notice_minutes": "120",
            "max_days_ahead": "90", **changes}


# -- appointment types -------------------------------------------------------------------------

def test_a_manager_creates_a_type_and_sees_it_listed(login, office: Office) -> None:
    client = login("manager")

    response = client.post("/settings/calendars/types/new",
                           data=type_form(provider_ids=[str(office.provider.id)]))

    assert response.status_code == 302
    listing = page_text(client.get("/settings/calendars"))
    assert "Whitening consult" in listing
    assert "45 min" in listing
    assert "Dr. Ana Rivera" in listing
    kind = _db.session.execute(select(AppointmentType).where(
        AppointmentType.name == "Whitening consult")).scalar_one()
    assert (kind.buffer_after_minutes, kind.bookable_online, kind.for_new_patients) == (
        15, True, False)
    assert [p.id for p in kind.providers] == [office.provider.id]


def test_a_bad_duration_shows_the_field_error_and_stores_nothing(login, office: Office) -> None:
    client = login("manager")

    response = client.post("/settings/calendars/types/new",
                           data=type_form(duration_minutes="7"))

    assert response.status_code == 400
    assert "Use 5 to 480 minutes, in steps of 5." in page_text(response)
    assert _db.session.execute(select(func.count()).select_from(AppointmentType)).scalar_one() == 1


def test_editing_a_type_shows_its_values_and_can_deactivate_it(login, office: Office) -> None:
    client = login("manager")
    url = f"/settings/calendars/types/{office.exam.id}"

    form = page_text(client.get(url))
    assert 'value="Exam"' in form
    assert (f'<input checked id="provider_ids-0" name="provider_ids" type="checkbox" '
            f'value="{office.provider.id}">') in form

    response = client.post(url, data=type_form(name="Exam", duration_minutes="30",
                                               provider_ids=[str(office.provider.id)],
                                               active=""))
    assert response.status_code == 302
    _db.session.expire_all()
    assert _db.session.get(AppointmentType, office.exam.id).active is False
    assert open_slots(office, BEFORE_DST) == []


def test_front_desk_may_not_change_calendars(login, office: Office) -> None:
    client = login("front_desk")
    for url in ("/settings/calendars", "/settings/calendars/types/new",
                f"/settings/calendars/types/{office.exam.id}",
                f"/settings/calendars/providers/{office.provider.id}"):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/settings/calendars/providers/{office.provider.id}/hours",
                           data=week_form(office.manhattan, ("09:00", "12:00")))
    assert response.status_code == 403
    assert _db.session.execute(select(func.count()).select_from(WorkingHours)).scalar_one() == 0
    assert "/settings/calendars" not in page_text(client.get("/schedule"))


def test_the_navigation_links_managers_to_the_calendars(login, office: Office) -> None:
    assert 'href="/settings/calendars"' in page_text(login("manager").get("/schedule"))


# -- weekly hours ------------------------------------------------------------------------------

def test_hours_saved_in_local_time_stay_local_across_a_dst_change(login, office: Office) -> None:
    client = login("manager")
    url = f"/settings/calendars/providers/{office.provider.id}"

    response = client.post(f"{url}/hours", data=week_form(office.manhattan, ("09:00", "12:00")))

    assert response.status_code == 302
    before, after = open_slots(office, BEFORE_DST), open_slots(office, AFTER_DST)
    assert before[0] == after[0] == "09:00"
    assert before[-1] == after[-1] == "11:30"
    # The same wall-clock time is a different UTC instant once the clocks have moved.
    assert (datetime.combine(BEFORE_DST, time(9), NEW_YORK).astimezone(UTC).hour,
            datetime.combine(AFTER_DST, time(9), NEW_YORK).astimezone(UTC).hour) == (14, 13)
    page = page_text(client.get(url, query_string={"location_id": office.manhattan.id}))
    assert "09:00–12:00" in page
    assert 'name="days-0-start_1" type="time" value="09:00"' in page


def test_two_intervals_a_day_and_a_dated_period(login, office: Office) -> None:
    client = login("manager")
    data = week_form(office.manhattan, ("08:00", "10:00"), valid_from="2027-03-01",
                     valid_until="2027-03-31")
    data["days-0-start_2"], data["days-0-end_2"] = "13:00", "14:00"

    response = client.post(f"/settings/calendars/providers/{office.provider.id}/hours",
                           data=data)

    assert response.status_code == 302
    assert open_slots(office, BEFORE_DST) == ["08:00", "08:15", "08:30", "08:45", "09:00",
                                              "09:15", "09:30", "13:00", "13:15", "13:30"]
    assert open_slots(office, date(2027, 4, 5)) == []


def test_a_clash_with_hours_at_another_location_is_shown_and_nothing_saved(
        login, office: Office) -> None:
    calendars.set_weekly_hours(practice_id=office.practice.id, provider_id=office.provider.id,
                               location_id=office.denver.id,
                               intervals=[WeeklyInterval(0, time(8), time(12))])
    client = login("manager")

    # 09:00-12:00 in New York is 07:00-10:00 in Denver: it overlaps the Denver morning.
    response = client.post(f"/settings/calendars/providers/{office.provider.id}/hours",
                           data=week_form(office.manhattan, ("09:00", "12:00")))

    assert response.status_code == 400
    assert "overlaps Monday 08:00-12:00 at Denver" in page_text(response)
    assert _db.session.execute(select(func.count()).select_from(WorkingHours).where(
        WorkingHours.location_id == office.manhattan.id)).scalar_one() == 0


def test_a_clash_is_explained_in_the_pages_language(login, office: Office) -> None:
    calendars.set_weekly_hours(practice_id=office.practice.id, provider_id=office.provider.id,
                               location_id=office.denver.id,
                               intervals=[WeeklyInterval(0, time(8), time(12))])
    response = login("manager").post(
        f"/settings/calendars/providers/{office.provider.id}/hours",
        query_string={"lang": "es"}, data=week_form(office.manhattan, ("09:00", "12:00"),
                                                     valid_from="2027-03-10",
                                                     valid_until="2027-03-01"))
    assert response.status_code == 400
    assert ("la fecha de fin debe ser igual o posterior a la fecha de inicio"
            in page_text(response))

    response = login("manager").post(
        f"/settings/calendars/providers/{office.provider.id}/hours",
        query_string={"lang": "es"}, data=week_form(office.manhattan, ("09:00", "12:00")))
    assert response.status_code == 400
    assert "se superpone con el lunes 08:00-12:00 en Denver" in page_text(response)


@pytest.mark.parametrize(("fields", "message"), [
    ({"days-2-start_1": "12:00", "days-2-end_1": "09:00"}, "Must be after the start."),
    ({"days-2-start_1": "09:00"}, "Give both the start and the end."),
    ({"days-2-start_1": "09:00", "days-2-end_1": "12:00", "days-2-start_2": "11:00",
      "days-2-end_2": "13:00"}, "Overlaps the first interval."),
    ({"valid_from": "2027-03-10", "valid_until": "2027-03-01"},
     "the end date must be on or after the start date"),
])
def test_bad_hours_show_the_error_on_the_form(login, office: Office, fields: dict,
                                              message: str) -> None:
    client = login("manager")
    response = client.post(f"/settings/calendars/providers/{office.provider.id}/hours",
                           data=week_form(office.manhattan, **fields))
    assert response.status_code == 400
    assert message in page_text(response)
    assert _db.session.execute(select(func.count()).select_from(WorkingHours)).scalar_one() == 0


def test_the_weekly_form_shows_the_chosen_locations_hours(login, office: Office) -> None:
    for location, start in ((office.manhattan, time(8)), (office.denver, time(13))):
        calendars.set_weekly_hours(practice_id=office.practice.id,
                                   provider_id=office.provider.id, location_id=location.id,
                                   intervals=[WeeklyInterval(4, start, time(start.hour + 2))])
    page = page_text(login("manager").get(f"/settings/calendars/providers/{office.provider.id}",
                                          query_string={"location_id": office.denver.id}))
    assert f'<option selected value="{office.denver.id}">Denver</option>' in page
    assert 'name="days-4-start_1" type="time" value="13:00"' in page
    assert 'value="08:00"' not in page


def test_a_day_with_more_intervals_than_the_form_shows_is_flagged(login, office: Office) -> None:
    calendars.set_weekly_hours(practice_id=office.practice.id, provider_id=office.provider.id,
                               location_id=office.manhattan.id,
                               intervals=[WeeklyInterval(1, time(8), time(9)),
                                          WeeklyInterval(1, time(10), time(11)),
                                          WeeklyInterval(1, time(12), time(13))])
    page = page_text(login("manager").get(f"/settings/calendars/providers/{office.provider.id}"))
    assert "Tuesday: more than two intervals at this location." in page


def test_the_provider_page_speaks_spanish(login, office: Office) -> None:
    page = page_text(login("manager").get(
        f"/settings/calendars/providers/{office.provider.id}", query_string={"lang": "es"}))
    assert "Guardar el horario semanal" in page
    assert "Lunes" in page


def test_a_provider_without_locations_gets_a_page_saying_so(login, practice: Practice) -> None:
    loner = factories.make_provider(practice)
    page = page_text(login("manager").get(f"/settings/calendars/providers/{loner.id}"))
    assert "This provider works at no location yet." in page


def test_another_practices_provider_is_not_found(login, office: Office) -> None:
    stranger = factories.make_provider(factories.make_practice(name="Elsewhere"))
    client = login("manager")
    assert client.get(f"/settings/calendars/providers/{stranger.id}").status_code == 404
    assert client.post(f"/settings/calendars/providers/{stranger.id}/hours",
                       data=week_form(office.manhattan, ("09:00", "12:00"))).status_code == 404


# -- time off and extra hours ------------------------------------------------------------------

def test_time_off_appears_closes_slots_and_can_be_removed(login, office: Office) -> None:
    calendars.set_weekly_hours(practice_id=office.practice.id, provider_id=office.provider.id,
                               location_id=office.manhattan.id,
                               intervals=[WeeklyInterval(0, time(9), time(12))])
    client = login("manager")
    url = f"/settings/calendars/providers/{office.provider.id}"

    response = client.post(f"{url}/exceptions", data=exception_form(
        kind="time_off", location_id=str(office.manhattan.id),
        starts_on=AFTER_DST.isoformat(), start_time="10:00", end_time="12:00",
        label="Staff meeting"))

    assert response.status_code == 302
    assert open_slots(office, AFTER_DST) == ["09:00", "09:15", "09:30"]
    assert open_slots(office, BEFORE_DST)[-1] == "11:30"
    exception = _db.session.execute(select(ScheduleException)).scalar_one()
    assert exception.starts_at == datetime(2027, 3, 15, 14, tzinfo=UTC)  # 10:00 EDT
    page = page_text(client.get(url))
    assert "Staff meeting" in page
    assert "10:00\u202fAM EDT" in page

    removed = client.post(f"{url}/exceptions/{exception.id}/remove")

    assert removed.status_code == 302
    assert open_slots(office, AFTER_DST)[-1] == "11:30"
    assert "Staff meeting" not in page_text(client.get(url))


def test_whole_days_off_at_every_location_use_the_practice_zone(login, office: Office) -> None:
    client = login("manager")
    response = client.post(f"/settings/calendars/providers/{office.provider.id}/exceptions",
                           data=exception_form(kind="time_off", location_id="0",
                                               starts_on="2027-07-05", ends_on="2027-07-09",
                                               label="Vacation"))
    assert response.status_code == 302
    exception = _db.session.execute(select(ScheduleException)).scalar_one()
    assert exception.location_id is None
    assert (exception.starts_at, exception.ends_at) == (
        datetime(2027, 7, 5, tzinfo=CHICAGO).astimezone(UTC),
        datetime(2027, 7, 10, tzinfo=CHICAGO).astimezone(UTC))


def test_extra_hours_open_time_outside_the_weekly_hours(login, office: Office) -> None:
    saturday = date(2027, 3, 20)
    client = login("manager")
    response = client.post(f"/settings/calendars/providers/{office.provider.id}/exceptions",
                           data=exception_form(kind="extra_hours",
                                               location_id=str(office.denver.id),
                                               starts_on=saturday.isoformat(),
                                               start_time="09:00", end_time="10:00"))
    assert response.status_code == 302
    denver = ZoneInfo("America/Denver")
    assert open_slots(office, saturday, office.denver, denver) == [
        "09:00", "09:15", "09:30"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"location_id": "0", "kind": "extra_hours"}, "Extra hours are at one location"),
    ({"start_time": "12:00", "end_time": "10:00"}, "Must be after the start."),
    ({"starts_on": ""}, "Date is missing."),
    ({"ends_on": "2027-03-10"}, "Must be on or after the date."),
])
def test_a_bad_exception_shows_the_error_and_stores_nothing(login, office: Office, fields: dict,
                                                            message: str) -> None:
    data = exception_form(**{"kind": "time_off", "location_id": str(office.manhattan.id),
                             "starts_on": AFTER_DST.isoformat(), "start_time": "10:00",
                             "end_time": "12:00", **fields})
    response = login("manager").post(
        f"/settings/calendars/providers/{office.provider.id}/exceptions", data=data)
    assert response.status_code == 400
    assert message in page_text(response)
    assert _db.session.execute(select(func.count()).select_from(ScheduleException)
                               ).scalar_one() == 0


def test_removing_another_providers_time_off_is_not_found(login, office: Office) -> None:
    other = factories.make_provider(office.practice, locations=[office.manhattan])
    exception = calendars.add_time_off(
        practice_id=office.practice.id, provider_id=other.id,
        starts_at=datetime(2027, 3, 15, 14, tzinfo=UTC),
        ends_at=datetime(2027, 3, 15, 16, tzinfo=UTC))
    response = login("manager").post(
        f"/settings/calendars/providers/{office.provider.id}/exceptions/{exception.id}/remove")
    assert response.status_code == 404
    assert _db.session.get(ScheduleException, exception.id) is not None


def test_removing_needs_the_csrf_token(make_app, office: Office) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    user = factories.make_staff(office.practice, role="manager")
    exception = calendars.add_time_off(
        practice_id=office.practice.id, provider_id=office.provider.id,
        starts_at=datetime(2027, 3, 15, 14, tzinfo=UTC),
        ends_at=datetime(2027, 3, 15, 16, tzinfo=UTC))
    client = app.test_client()
    page = page_text(client.get("/sign-in"))
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/sign-in", data={"email": user.email, "password": factories.STAFF_PASSWORD,
                                  "csrf_token": token})
    url = f"/settings/calendars/providers/{office.provider.id}/exceptions/{exception.id}/remove"

    assert client.post(url).status_code == 400
    assert _db.session.get(ScheduleException, exception.id) is not None


def manhattan_hours() -> list[tuple[str, date | None, date | None]]:
    _db.session.expire_all()
    return [(f"{row.start_time:%H:%M}-{row.end_time:%H:%M}", row.valid_from, row.valid_until)
            for row in _db.session.execute(select(WorkingHours).order_by(
                WorkingHours.valid_from.is_not(None), WorkingHours.valid_from)).scalars()]


@pytest.fixture
def later_hours(office: Office) -> date:
    """Mondays 09:00-17:00 now, and 10:00-14:00 from a day two months ahead."""
    later = clock.utcnow().date() + timedelta(days=60)
    for hours, valid_from in (((9, 17), None), ((10, 14), later)):
        calendars.set_weekly_hours(
            practice_id=office.practice.id, provider_id=office.provider.id,
            location_id=office.manhattan.id, valid_from=valid_from,
            intervals=[WeeklyInterval(0, time(hours[0]), time(hours[1]))])
    return later


def test_the_weekly_form_edits_the_period_in_force_today(login, office: Office,
                                                         later_hours: date) -> None:
    client = login("manager")
    url = f"/settings/calendars/providers/{office.provider.id}"
    page = page_text(client.get(url))
    assert 'name="valid_from" type="date" value=""' in page
    until = (later_hours - timedelta(days=1)).isoformat()
    assert f'name="valid_until" type="date" value="{until}"' in page

    response = client.post(f"{url}/hours", data=week_form(
        office.manhattan, ("08:00", "16:00"), valid_until=until))

    assert response.status_code == 302
    assert manhattan_hours() == [("08:00-16:00", None, later_hours - timedelta(days=1)),
                                 ("10:00-14:00", later_hours, None)]


def test_saving_without_dates_does_not_silently_replace_later_hours(
        login, office: Office, later_hours: date) -> None:
    client = login("manager")
    url = f"/settings/calendars/providers/{office.provider.id}/hours"
    before = manhattan_hours()

    refused = client.post(url, data=week_form(office.manhattan, ("08:00", "16:00")))

    assert refused.status_code == 400
    page = page_text(refused)
    assert "These later hours fall within the dates given, and saving would replace them:" in page
    assert "Monday 10:00–14:00, from" in page
    assert "Tick the box to replace them, or choose an end date before they begin." in page
    assert manhattan_hours() == before

    confirmed = client.post(url, data=week_form(office.manhattan, ("08:00", "16:00"),
                                                replace_later="y"))
    assert confirmed.status_code == 302
    assert manhattan_hours() == [("08:00-16:00", None, None)]


def test_hours_dated_after_the_later_hours_begin_need_no_confirmation(
        login, office: Office, later_hours: date) -> None:
    client = login("manager")
    response = client.post(
        f"/settings/calendars/providers/{office.provider.id}/hours",
        data=week_form(office.manhattan, ("11:00", "13:00"),
                       valid_from=(later_hours + timedelta(days=7)).isoformat()))
    assert response.status_code == 302
    assert ("11:00-13:00", later_hours + timedelta(days=7), None) in manhattan_hours()
