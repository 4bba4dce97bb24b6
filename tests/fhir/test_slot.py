"""FHIR Slot: open time from the slot engine, busy time from appointments, time off and extra
hours as busy-unavailable and free slots, the official examples."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.slot import Slot as FhirSlot
from sqlalchemy import event, select

from app.core.clock import utcnow
from app.extensions import db
from app.fhir import slots as fhir_slots
from app.fhir.mapping.codes import APPOINTMENT_TYPE_SYSTEM
from app.fhir.mapping.slot import BOOKING_DEEP_LINK
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import AppointmentType, Schedule, ScheduleException
from app.security.models import AuditEvent
from tests import factories
from tests.fhir.outcome import expressions, issues

# Chicago in winter is UTC-6: 09:00-12:00 local is 15:00-18:00 UTC.
DAY = date(2027, 1, 12)  # a Tuesday, well ahead of now and within the types' 365 days


@dataclass
class Calendar:
    location: Location
    provider: Provider
    kind: AppointmentType
    schedule: Schedule  # the provider's, made with the hours


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def z(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def provider_with_hours(practice: Practice, location: Location, kind: AppointmentType
                        ) -> Provider:
    provider = factories.make_provider(practice, locations=[location])
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(d, time(9), time(12)) for d in range(7)])
    return provider


@pytest.fixture
def calendar(practice: Practice) -> Calendar:
    location = factories.make_location(practice, timezone="America/Chicago")
    kind = factories.make_appointment_type(practice, name="Cleaning", duration_minutes=60)
    kind.max_days_ahead = 3650
    db.session.commit()
    provider = provider_with_hours(practice, location, kind)
    schedule = db.session.execute(select(Schedule).where(
        Schedule.provider_id == provider.id)).scalar_one()
    return Calendar(location, provider, kind, schedule)


def search(fhir: Any, **params: Any) -> list[dict[str, Any]]:
    response = fhir.get("/fhir/Slot", **params)
    assert response.status_code == 200, response.data
    return [entry["resource"] for entry in response.get_json().get("entry", [])]


def on_day(fhir: Any, schedule_id: int, day: date = DAY, **params: Any) -> list[dict[str, Any]]:
    return search(fhir, schedule=f"Schedule/{schedule_id}", _count="100",
                  start=[f"ge{day}", f"lt{day + timedelta(days=1)}"], **params)


def test_open_slots_of_a_provider_schedule_carry_the_type_and_a_booking_link(fhir, calendar):
    slots = on_day(fhir, calendar.schedule.id)
    # 60-minute slots every 15 minutes from 09:00 to 11:00 local.
    assert [(s["start"], s["end"]) for s in slots] == [
        (z(at(15) + timedelta(minutes=m)), z(at(16) + timedelta(minutes=m)))
        for m in range(0, 121, 15)]
    first = FhirSlot.model_validate(slots[0])
    assert first.id == f"{calendar.schedule.id}.{calendar.kind.id}.202701121500"
    assert (first.status, first.schedule.reference) == ("free",
                                                        f"Schedule/{calendar.schedule.id}")
    assert first.appointmentType.coding[0].model_dump(exclude_none=True) == {
        "system": APPOINTMENT_TYPE_SYSTEM, "code": str(calendar.kind.id), "display": "Cleaning"}
    assert first.serviceType == [first.appointmentType]
    link = urlsplit(next(e.valueUrl for e in first.extension if e.url == BOOKING_DEEP_LINK))
    assert link.path == "/book/time"
    assert parse_qs(link.query) == {"type": [str(calendar.kind.id)],
                                    "location": [str(calendar.location.id)],
                                    "provider": [str(calendar.provider.id)],
                                    "day": [DAY.isoformat()]}
    assert fhir.client.get(f"{link.path}?{link.query}").status_code == 200  # the booking page

    read = fhir.get(f"/fhir/Slot/{first.id}")
    assert read.status_code == 200
    assert read.get_json() == slots[0]


def test_a_type_not_bookable_online_has_no_booking_link(fhir, calendar):
    calendar.kind.bookable_online = False
    db.session.commit()
    slots = on_day(fhir, calendar.schedule.id)
    assert slots and all("extension" not in s for s in slots)


def test_a_booked_slot_is_no_longer_free_and_shows_as_busy_without_the_patient(fhir, calendar,
                                                                                practice):
    free_id = f"{calendar.schedule.id}.{calendar.kind.id}.202701121500"
    patient = factories.make_patient(practice)
    appointment = factories.make_appointment(patient, calendar.provider, calendar.location,
                                             start_at=at(15), appointment_type=calendar.kind)

    gone = fhir.get(f"/fhir/Slot/{free_id}")
    assert gone.status_code == 404 and issues(gone)[0]["code"] == "not-found"
    busy = on_day(fhir, calendar.schedule.id, status="busy")
    assert busy == [fhir.get(f"/fhir/Slot/a{appointment.id}").get_json()]
    assert {key: busy[0][key] for key in ("id", "status", "start", "end")} == {
        "id": f"a{appointment.id}", "status": "busy", "start": z(at(15)), "end": z(at(16))}
    assert set(busy[0]) == {"resourceType", "id", "meta", "schedule", "status", "start", "end"}
    # Free slots now start when the appointment ends.
    assert on_day(fhir, calendar.schedule.id, status="free")[0]["start"] == z(at(16))

    reads = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "fhir.read", AuditEvent.object_type == "slot")).scalars().all()
    assert [event.patient_id for event in reads] == [patient.id]


def test_a_location_schedule_offers_one_slot_per_type_and_start_from_any_provider(
        fhir, calendar, practice):
    provider_with_hours(practice, calendar.location, calendar.kind)
    whole = Schedule(practice_id=practice.id, location_id=calendar.location.id, active=True)
    db.session.add(whole)
    db.session.commit()

    slots = on_day(fhir, whole.id)
    assert len(slots) == len(on_day(fhir, calendar.schedule.id)) == 9
    link = next(e["valueUrl"] for e in slots[0]["extension"] if e["url"] == BOOKING_DEEP_LINK)
    assert "provider" not in parse_qs(urlsplit(link).query)  # first available
    # Busy time belongs to the providers' calendars, not the location's.
    patient = factories.make_patient(practice)
    factories.make_appointment(patient, calendar.provider, calendar.location, start_at=at(15),
                               appointment_type=calendar.kind)
    assert [s["status"] for s in on_day(fhir, whole.id)] == ["free"] * 9


def test_an_inactive_schedule_or_one_outside_its_horizon_offers_nothing(fhir, calendar):
    calendar.schedule.horizon_end = at(0)
    db.session.commit()
    assert on_day(fhir, calendar.schedule.id) == []
    calendar.schedule.horizon_end = None
    calendar.schedule.active = False
    db.session.commit()
    assert on_day(fhir, calendar.schedule.id) == []


def test_service_type_status_and_id_narrow_the_search(fhir, calendar, practice):
    other = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    other.max_days_ahead = 3650
    db.session.commit()
    calendars.set_appointment_types(practice_id=practice.id, provider_id=calendar.provider.id,
                                    appointment_type_ids=[calendar.kind.id, other.id])
    both = on_day(fhir, calendar.schedule.id)
    exams = on_day(fhir, calendar.schedule.id,
                   **{"service-type": f"{APPOINTMENT_TYPE_SYSTEM}|{other.id}"})
    assert len(exams) == 11 and len(both) == 9 + 11
    assert {s["appointmentType"]["coding"][0]["code"] for s in exams} == {str(other.id)}
    assert on_day(fhir, calendar.schedule.id, **{"service-type": f"http://x|{other.id}"}) == []
    assert on_day(fhir, calendar.schedule.id, status="busy-unavailable") == []
    ids = f"{exams[0]['id']},{exams[1]['id']},nonsense"
    assert search(fhir, _id=ids) == exams[:2]


def test_search_windows_and_refusals(fhir, calendar, practice):
    patient = factories.make_patient(practice)
    soon = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    appointment = factories.make_appointment(patient, calendar.provider, calendar.location,
                                             start_at=soon, appointment_type=calendar.kind)
    # Without a schedule: busy and busy-unavailable slots of every schedule, from now for 7
    # days.
    assert [s["id"] for s in search(fhir)] == [f"a{appointment.id}"]
    assert search(fhir, start=f"ge{DAY}") == []

    def refused(**params: Any) -> list[str]:
        response = fhir.get("/fhir/Slot", **params)
        assert response.status_code == 400, response.data
        return expressions(response)

    assert refused(status="free") == ["schedule"]
    assert refused(schedule=f"Schedule/{calendar.schedule.id}",
                   start=["ge2027-01-01", "lt2027-03-01"]) == ["start"]
    assert search(fhir, status="maybe") == []
    assert refused(start="soon") == ["start"]
    assert refused(schedule="Location/1") == ["schedule"]
    assert search(fhir, schedule="Schedule/999999", start=f"ge{DAY}") == []
    assert fhir.get("/fhir/Slot/999999.1.202701121500").status_code == 404
    assert fhir.get("/fhir/Slot/nonsense").status_code == 404


def busy_unavailable(example: dict[str, Any], schedule_id: int) -> dict[str, Any]:
    """Slot-1 is "busy", which only an appointment makes here: blocked time is
    busy-unavailable."""
    adapted = on_schedule(example, schedule_id)
    adapted["status"] = "busy-unavailable"
    return adapted


def on_schedule(example: dict[str, Any], schedule_id: int) -> dict[str, Any]:
    adapted = copy.deepcopy(example)
    adapted["schedule"]["reference"] = f"Schedule/{schedule_id}"
    return adapted


KEPT = ("status", "start", "end", "comment")


def test_the_official_busy_slot_example_becomes_time_off(fhir, example, calendar):
    as_is = fhir.post("/fhir/Slot", on_schedule(example("Slot-1.json"), calendar.schedule.id))
    assert as_is.status_code == 400
    assert expressions(as_is) == ["Slot.status"]
    assert "POST an Appointment" in issues(as_is)[0]["diagnostics"]

    posted = busy_unavailable(example("Slot-1.json"), calendar.schedule.id)
    created = fhir.post("/fhir/Slot", posted)
    assert created.status_code == 201, created.data
    back = fhir.get(f"/fhir/Slot/{created.get_json()['id']}")
    resource = FhirSlot.model_validate(back.get_json())
    assert resource.id.startswith("x")
    assert {k: back.get_json()[k] for k in KEPT} == {k: posted[k] for k in KEPT}
    assert resource.schedule.reference == f"Schedule/{calendar.schedule.id}"
    exception = db.session.get(ScheduleException, int(resource.id[1:]))
    assert (exception.kind, exception.provider_id, exception.location_id) == (
        "time_off", calendar.provider.id, calendar.location.id)


def test_the_official_free_slot_example_becomes_extra_hours(fhir, example, calendar):
    posted = on_schedule(example("Slot-example.json"), calendar.schedule.id)
    created = fhir.post("/fhir/Slot", posted)
    assert created.status_code == 201, created.data
    back = fhir.get(f"/fhir/Slot/{created.get_json()['id']}").get_json()
    FhirSlot.model_validate(back)
    assert {k: back[k] for k in KEPT} == {k: posted[k] for k in KEPT}
    exception = db.session.get(ScheduleException, int(back["id"][1:]))
    assert exception.kind == "extra_hours"


def test_time_off_blocks_open_slots_and_extra_hours_add_them(fhir, calendar):
    blocked = fhir.post("/fhir/Slot", {
        "resourceType": "Slot", "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
        "status": "busy-unavailable", "start": z(at(15)), "end": z(at(17)),
        "comment": "Staff meeting"})
    assert blocked.status_code == 201, blocked.data
    slots = on_day(fhir, calendar.schedule.id)
    assert [(s["id"], s["status"], s.get("comment")) for s in slots[:1]] == [
        (blocked.get_json()["id"], "busy-unavailable", "Staff meeting")]
    assert [s["start"] for s in slots[1:]] == [z(at(17))]

    evening = fhir.post("/fhir/Slot", {
        "resourceType": "Slot", "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
        "status": "free", "start": z(at(20)), "end": z(at(22))})
    assert evening.status_code == 201, evening.data
    extra = on_day(fhir, calendar.schedule.id, status="free")
    assert [(s["id"], s["start"]) for s in extra if s["start"] >= z(at(20))] == [
        (evening.get_json()["id"], z(at(20))),
        *[(f"{calendar.schedule.id}.{calendar.kind.id}.20270112{h:02d}{m:02d}", z(at(h, m)))
          for h, m in ((20, 0), (20, 15), (20, 30), (20, 45), (21, 0))]]


def test_slots_that_cannot_be_posted(fhir, calendar, practice):
    whole = Schedule(practice_id=practice.id, location_id=calendar.location.id, active=True)
    db.session.add(whole)
    db.session.commit()

    def post(**changes: Any) -> Any:
        body = {"resourceType": "Slot",
                "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
                "status": "busy-unavailable", "start": z(at(15)), "end": z(at(16)), **changes}
        return fhir.post("/fhir/Slot", body)

    assert expressions(post(status="busy-tentative")) == ["Slot.status"]
    assert expressions(post(status="entered-in-error")) == ["Slot.status"]
    assert expressions(post(schedule={"reference": f"Schedule/{whole.id}"})) == [
        "Slot.schedule"]
    assert expressions(post(schedule={"reference": "Schedule/999999"})) == ["Slot.schedule"]
    assert expressions(post(end=z(at(14)))) == ["Slot.end"]
    assert expressions(post(status="free", end=z(at(15) + timedelta(hours=30)))) == ["Slot.end"]
    assert expressions(post(comment="x" * 200)) == ["Slot.comment"]


def test_updating_time_off_and_what_cannot_be_updated(fhir, calendar, practice):
    created = fhir.post("/fhir/Slot", {
        "resourceType": "Slot", "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
        "status": "busy-unavailable", "start": z(at(15)), "end": z(at(16))}).get_json()
    current = fhir.get(f"/fhir/Slot/{created['id']}")
    body, etag = current.get_json(), current.headers["ETag"]
    body.update(start=z(at(16)), end=z(at(17)), comment="Moved meeting")

    updated = fhir.put(f"/fhir/Slot/{created['id']}", body, {"If-Match": etag})
    assert updated.status_code == 200, updated.data
    exception = db.session.get(ScheduleException, int(created["id"][1:]))
    assert (exception.starts_at, exception.ends_at, exception.label) == (
        at(16), at(17), "Moved meeting")
    assert fhir.put(f"/fhir/Slot/{created['id']}", body,
                    {"If-Match": etag}).status_code == 412
    assert expressions(fhir.put(f"/fhir/Slot/{created['id']}",
                                dict(body, status="free"))) == ["Slot.status"]

    free_id = f"{calendar.schedule.id}.{calendar.kind.id}.202701121500"
    computed = fhir.put(f"/fhir/Slot/{free_id}", dict(body, id=free_id))
    assert computed.status_code == 400 and "busy-unavailable" in issues(computed)[0][
        "diagnostics"]
    appointment = factories.make_appointment(factories.make_patient(practice),
                                             calendar.provider, calendar.location,
                                             start_at=at(17), appointment_type=calendar.kind)
    held = fhir.put(f"/fhir/Slot/a{appointment.id}", dict(body, id=f"a{appointment.id}"))
    assert held.status_code == 400
    assert f"Appointment/{appointment.id}" in issues(held)[0]["diagnostics"]
    assert fhir.put("/fhir/Slot/x999999", dict(body, id="x999999")).status_code == 404


def test_time_off_at_every_location_lies_on_each_of_the_providers_schedules(fhir, calendar,
                                                                            practice):
    second = factories.make_location(practice, timezone="America/Chicago")
    calendar.provider.locations.append(second)
    db.session.commit()
    other = calendars.ensure_schedule(practice_id=practice.id, provider_id=calendar.provider.id,
                                      location_id=second.id)
    db.session.commit()
    holiday = calendars.add_time_off(practice_id=practice.id, provider_id=calendar.provider.id,
                                     starts_at=at(6), ends_at=at(6) + timedelta(days=1),
                                     label="Holiday")
    for schedule_id in (calendar.schedule.id, other.id):
        assert [(s["id"], s["schedule"]["reference"]) for s in on_day(fhir, schedule_id)] == [
            (f"x{holiday.id}", f"Schedule/{schedule_id}")]
    read = fhir.get(f"/fhir/Slot/x{holiday.id}").get_json()
    assert (read["status"], read["comment"], read["schedule"]["reference"]) == (
        "busy-unavailable", "Holiday", f"Schedule/{calendar.schedule.id}")


@pytest.mark.parametrize(("start", "end"), [
    ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
    ("0001-01-01T00:00:00+01:00", "0001-01-01T02:00:00+01:00"),
    ("9999-12-30T00:00:00-05:00", "9999-12-30T01:00:00-05:00"),
])
def test_time_off_outside_the_years_we_keep_is_refused(fhir, calendar, start, end):
    response = fhir.post("/fhir/Slot", {
        "resourceType": "Slot", "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
        "status": "busy-unavailable", "start": start, "end": end})

    assert response.status_code == 400
    assert expressions(response) == ["Slot.start"]
    assert db.session.query(ScheduleException).count() == 0
    assert fhir.get("/fhir/Slot", status="busy-unavailable").status_code == 200


def test_time_off_at_every_location_is_one_slot_when_no_schedule_is_asked_for(fhir, calendar,
                                                                              practice):
    second = factories.make_location(practice, timezone="America/Chicago")
    calendar.provider.locations.append(second)
    db.session.commit()
    calendars.ensure_schedule(practice_id=practice.id, provider_id=calendar.provider.id,
                              location_id=second.id)
    db.session.commit()
    holiday = calendars.add_time_off(practice_id=practice.id, provider_id=calendar.provider.id,
                                     starts_at=at(6), ends_at=at(6) + timedelta(days=1))

    found = search(fhir, start=[f"ge{DAY}", f"lt{DAY + timedelta(days=1)}"])

    assert [(s["id"], s["schedule"]["reference"]) for s in found] == [
        (f"x{holiday.id}", f"Schedule/{calendar.schedule.id}")]


def test_a_plain_date_is_a_day_of_the_practice(fhir, calendar, practice):
    practice.timezone = "America/Los_Angeles"
    db.session.commit()
    # 17:00 in Los Angeles on DAY is 01:00 UTC the next day.
    late = calendars.add_time_off(practice_id=practice.id, provider_id=calendar.provider.id,
                                  starts_at=at(1, day=DAY + timedelta(days=1)),
                                  ends_at=at(2, day=DAY + timedelta(days=1)))

    assert [s["id"] for s in search(fhir, start=[f"ge{DAY}", f"lt{DAY + timedelta(days=1)}"])
            ] == [f"x{late.id}"]
    assert search(fhir, start=[f"ge{DAY + timedelta(days=1)}",
                               f"lt{DAY + timedelta(days=2)}"]) == []


def test_if_match_star_updates_whatever_the_version(fhir, calendar):
    created = fhir.post("/fhir/Slot", {
        "resourceType": "Slot", "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
        "status": "busy-unavailable", "start": z(at(15)), "end": z(at(16))}).get_json()

    response = fhir.put(f"/fhir/Slot/{created['id']}", {**created, "comment": "Dentist"},
                        {"If-Match": "*"})

    assert response.status_code == 200, response.data
    assert db.session.get(ScheduleException, int(created["id"][1:])).label == "Dentist"


def test_a_slot_update_whose_audit_fails_is_not_kept(fhir, calendar, monkeypatch):
    created = fhir.post("/fhir/Slot", {
        "resourceType": "Slot", "schedule": {"reference": f"Schedule/{calendar.schedule.id}"},
        "status": "busy-unavailable", "start": z(at(15)), "end": z(at(16))}).get_json()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(fhir_slots, "audit_access", broken)
    response = fhir.put(f"/fhir/Slot/{created['id']}", {**created, "comment": "Dentist"})

    assert response.status_code == 500
    db.session.expire_all()
    assert db.session.get(ScheduleException, int(created["id"][1:])).label is None


def test_the_search_page_built_without_models_is_what_fhir_resources_validates_and_serves(
        fhir, calendar, practice):
    """Search pages are JSON built directly (no fhir.resources model per slot); on a page with
    every kind of slot, the Bundle validates as FHIR R4B, is byte for byte what the validated
    models serialize to, and each entry is what a read (through the models) serves."""
    calendar.kind.name = "Limpieza dental ñ \"rápida\""
    other = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    other.max_days_ahead, other.bookable_online = 3650, False
    db.session.commit()
    calendars.set_appointment_types(practice_id=practice.id, provider_id=calendar.provider.id,
                                    appointment_type_ids=[calendar.kind.id, other.id])
    factories.make_appointment(factories.make_patient(practice), calendar.provider,
                               calendar.location, start_at=at(16), appointment_type=other)
    calendars.add_time_off(practice_id=practice.id, provider_id=calendar.provider.id,
                           starts_at=at(17, 30), ends_at=at(18), label="Dentist's lunch ☕")
    calendars.add_extra_hours(practice_id=practice.id, provider_id=calendar.provider.id,
                              location_id=calendar.location.id, starts_at=at(19),
                              ends_at=at(20), label=None)

    response = fhir.get("/fhir/Slot", schedule=f"Schedule/{calendar.schedule.id}",
                        _count="100", start=[f"ge{DAY}", f"lt{DAY + timedelta(days=1)}"])

    assert response.status_code == 200
    validated = Bundle.model_validate(response.get_json())
    assert validated.model_dump_json(exclude_none=True).encode() == response.data
    entries = response.get_json()["entry"]
    assert {entry["resource"]["status"] for entry in entries} == {
        "free", "busy", "busy-unavailable"}
    assert any("extension" in e["resource"] for e in entries)
    assert any("comment" in e["resource"] for e in entries)
    assert any("extension" not in e["resource"] and "appointmentType" in e["resource"]
               for e in entries)  # the type not bookable online
    for entry in entries:
        read = fhir.get(f"/fhir/Slot/{entry['resource']['id']}")
        assert read.get_json() == entry["resource"]
        assert read.headers["ETag"] == f'W/"{entry["resource"]["meta"]["versionId"]}"'
        assert entry["fullUrl"].endswith(f"/fhir/Slot/{entry['resource']['id']}")


def test_a_schedules_free_slots_cost_the_token_one_query_for_the_calendar_and_the_engines(
        fhir, calendar, practice):
    """Besides the audit event: the token, the practice's zone (the window is given as local
    days), one query for the calendar with its location, offered types and exceptions (the
    slot engine's too), and the slot engine's two others (providers with their hours, held
    time), whatever the number of types and exceptions."""
    other = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    other.max_days_ahead = 3650
    db.session.commit()
    calendars.set_appointment_types(practice_id=practice.id, provider_id=calendar.provider.id,
                                    appointment_type_ids=[calendar.kind.id, other.id])
    calendars.add_extra_hours(practice_id=practice.id, provider_id=calendar.provider.id,
                              location_id=calendar.location.id, starts_at=at(19),
                              ends_at=at(20), label="Late clinic")
    calendars.add_time_off(practice_id=practice.id, provider_id=calendar.provider.id,
                           starts_at=at(15), ends_at=at(16), label=None)
    db.session.commit()
    schedule_id = calendar.schedule.id
    on_day(fhir, schedule_id, status="free")  # the token's use is written once
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        found = on_day(fhir, schedule_id, status="free")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert {slot["status"] for slot in found} == {"free"}
    assert {slot.get("comment") for slot in found} == {None, "Late clinic"}
    assert {slot["appointmentType"]["coding"][0]["code"] for slot in found
            if "appointmentType" in slot} == {str(calendar.kind.id), str(other.id)}
    own = [s for s in statements if "audit_event" not in s and "pg_advisory" not in s]
    assert len(own) == 5, "\n".join(s[:90] for s in own)
