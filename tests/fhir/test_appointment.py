"""FHIR Appointment: booking through the API (the double-booking rule, its 409 and the next open
times), the official example round trip, updates through the booking service, and search."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from app.core import clock
from app.core import events as core_events
from app.core.clock import utcnow
from app.extensions import db
from app.fhir.mapping.codes import APPOINTMENT_TYPE_SYSTEM, free_slot_id
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import calendars, events
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType, Schedule
from app.security.models import AuditEvent
from tests import factories
from tests.fhir.outcome import expressions, issues

CHICAGO = ZoneInfo("America/Chicago")


@dataclass
class Clinic:
    practice: Practice
    location: Location
    provider: Provider
    colleague: Provider
    exam: AppointmentType  # 30 minutes
    patient: Patient
    other_patient: Patient
    monday: date  # a Monday at least a week ahead


@pytest.fixture
def clinic(practice: Practice) -> Clinic:
    """Two providers at one Chicago location, weekdays 09:00-17:00, offering a 30-minute exam."""
    location = factories.make_location(practice, name="Downtown", timezone="America/Chicago")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    providers = []
    for family_name in ("Rivera", "Okafor"):
        provider = factories.make_provider(practice, locations=[location],
                                           family_name=family_name)
        calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                        appointment_type_ids=[exam.id])
        calendars.set_weekly_hours(
            practice_id=practice.id, provider_id=provider.id, location_id=location.id,
            intervals=[WeeklyInterval(day, time(9), time(17)) for day in range(5)])
        providers.append(provider)
    today = utcnow().astimezone(CHICAGO).date()
    monday = today + timedelta(days=7 + (7 - today.weekday()) % 7)
    return Clinic(practice, location, providers[0], providers[1], exam,
                  factories.make_patient(practice, given_name="Lucía", family_name="Ramírez"),
                  factories.make_patient(practice), monday)


def at(clinic: Clinic, hhmm: str, *, days: int = 0) -> datetime:
    wall = datetime.combine(clinic.monday + timedelta(days=days), time.fromisoformat(hhmm))
    return wall.replace(tzinfo=CHICAGO).astimezone(UTC)


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def exam_concept(clinic: Clinic) -> dict:
    return {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": str(clinic.exam.id)}]}


def appointment(clinic: Clinic, hhmm: str = "10:00", *, patient: Patient | None = None,
                provider: Provider | None = None, **fields: object) -> dict:
    start = at(clinic, hhmm)
    body = {
        "resourceType": "Appointment", "status": "booked",
        "appointmentType": exam_concept(clinic),
        "start": utc_text(start), "end": utc_text(start + timedelta(minutes=30)),
        "participant": [
            {"actor": {"reference": f"Patient/{(patient or clinic.patient).id}"},
             "status": "needs-action"},
            {"actor": {"reference": f"Practitioner/{(provider or clinic.provider).id}"},
             "status": "accepted"},
            {"actor": {"reference": f"Location/{clinic.location.id}"}, "status": "accepted"},
        ],
    }
    body.update(fields)
    return body


def post(fhir, body: dict) -> dict:  # noqa: ANN001
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == 201, response.data
    return response.get_json()


def stored(appointment_id: str) -> Appointment:
    db.session.expire_all()
    return db.session.get_one(Appointment, int(appointment_id))


def cancelled(resource: dict, reason: str = "Patient has the flu") -> dict:
    return {**resource, "status": "cancelled", "cancelationReason": {"text": reason}}


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every appointment event published during the test (the registry is restored after)."""
    registry = defaultdict(list, {kind: list(handlers)
                                  for kind, handlers in core_events._subscribers.items()})
    monkeypatch.setattr(core_events, "_subscribers", registry)
    seen: list[object] = []
    for kind in (events.AppointmentBooked, events.AppointmentRescheduled,
                 events.AppointmentCancelled, events.AppointmentStatusChanged,
                 events.PatientResponded):
        core_events.subscribe(kind)(seen.append)
    return seen


# --- booking --------------------------------------------------------------------------------

def test_an_api_booking_is_a_real_appointment_and_tells_the_other_domains(
        fhir, clinic, published):
    created = fhir.post("/fhir/Appointment", appointment(clinic, comment="Sensitive tooth"))

    assert created.status_code == 201, created.data
    body = created.get_json()
    row = stored(body["id"])
    assert (row.patient_id, row.provider_id, row.location_id, row.appointment_type_id) == (
        clinic.patient.id, clinic.provider.id, clinic.location.id, clinic.exam.id)
    assert row.start_at == at(clinic, "10:00")
    assert (row.status, row.source, row.note) == ("booked", "fhir", "Sensitive tooth")
    assert created.headers["ETag"] == f'W/"{body["meta"]["versionId"]}"'
    assert created.headers["Location"].startswith(
        f"http://localhost/fhir/Appointment/{body['id']}/_history/")
    [booked] = published
    assert isinstance(booked, events.AppointmentBooked)
    assert (booked.appointment_id, booked.source, booked.status) == (row.id, "fhir", "booked")


def test_a_created_appointment_reads_back_as_served(fhir, clinic):
    body = post(fhir, appointment(clinic, comment="Sensitive tooth"))

    read = fhir.get(f"/fhir/Appointment/{body['id']}")

    assert read.status_code == 200
    served = FhirAppointment.model_validate(read.get_json())
    assert served.status == "booked"
    assert (utc_text(served.start), utc_text(served.end)) == (
        utc_text(at(clinic, "10:00")), utc_text(at(clinic, "10:30")))
    assert read.get_json()["start"].endswith("Z")
    assert served.minutesDuration == 30
    assert served.comment == "Sensitive tooth"
    assert [(p.actor.reference, p.actor.display, p.status) for p in served.participant] == [
        (f"Patient/{clinic.patient.id}", "Lucía Ramírez", "needs-action"),
        (f"Practitioner/{clinic.provider.id}", "Dr. Ana Rivera", "accepted"),
        (f"Location/{clinic.location.id}", "Downtown", "accepted")]
    for concept in (served.appointmentType, served.serviceType[0]):
        assert [(c.system, c.code, c.display) for c in concept.coding] == [
            (APPOINTMENT_TYPE_SYSTEM, str(clinic.exam.id), "Exam")]
    assert [s.reference for s in served.slot] == [f"Slot/a{body['id']}"]
    assert served.created is not None


def test_a_second_booking_of_the_same_time_is_409_until_the_first_is_cancelled(fhir, clinic):
    first = post(fhir, appointment(clinic, "10:00"))
    overlapping = appointment(clinic, "10:15", patient=clinic.other_patient)

    refused = fhir.post("/fhir/Appointment", overlapping)

    assert refused.status_code == 409
    [issue] = issues(refused)
    assert issue["code"] == "conflict"
    # The next open times, in the location's time: Dr. Rivera is free again at 10:30.
    assert "Next open times: " in issue["diagnostics"]
    local = at(clinic, "10:30").astimezone(CHICAGO).isoformat(timespec="minutes")
    assert f"{local} with Dr. Ana Rivera" in issue["diagnostics"]
    assert len(db.session.execute(select(Appointment)).all()) == 1

    cancel = fhir.put(f"/fhir/Appointment/{first['id']}", cancelled(first))
    assert cancel.status_code == 200, cancel.data
    assert cancel.get_json()["status"] == "cancelled"
    assert cancel.get_json()["cancelationReason"]["text"] == "Patient has the flu"
    assert "slot" not in cancel.get_json()  # a cancelled appointment holds no time

    again = fhir.post("/fhir/Appointment", overlapping)
    assert again.status_code == 201, again.data
    assert stored(again.get_json()["id"]).patient_id == clinic.other_patient.id


def test_another_practitioner_may_have_the_same_time(fhir, clinic):
    post(fhir, appointment(clinic, "10:00"))
    colleague = fhir.post("/fhir/Appointment", appointment(
        clinic, "10:00", patient=clinic.other_patient, provider=clinic.colleague))
    assert colleague.status_code == 201, colleague.data


def test_a_time_outside_working_hours_is_409_with_the_next_open_times(fhir, clinic):
    response = fhir.post("/fhir/Appointment", appointment(clinic, "07:00"))
    assert response.status_code == 409
    assert f"{clinic.monday.isoformat()}T09:00" in issues(response)[0]["diagnostics"]


def test_booking_by_a_free_slot_of_ours(fhir, clinic):
    schedule = db.session.execute(select(Schedule).where(
        Schedule.provider_id == clinic.provider.id)).scalar_one()
    slot_id = free_slot_id(schedule.id, clinic.exam.id, at(clinic, "11:00"))

    created = post(fhir, {
        "resourceType": "Appointment", "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{clinic.patient.id}"},
                         "status": "accepted"}]})

    row = stored(created["id"])
    assert (row.provider_id, row.location_id, row.appointment_type_id, row.start_at) == (
        clinic.provider.id, clinic.location.id, clinic.exam.id, at(clinic, "11:00"))
    assert row.patient_status == "accepted"
    assert created["end"] == utc_text(at(clinic, "11:30"))


def test_the_location_may_be_left_out_when_the_practitioner_works_at_one(fhir, clinic):
    body = appointment(clinic)
    body["participant"] = body["participant"][:2]
    created = post(fhir, body)
    assert stored(created["id"]).location_id == clinic.location.id


def test_a_patient_cannot_be_booked_twice_at_once(fhir, clinic):
    post(fhir, appointment(clinic, "10:00"))
    response = fhir.post("/fhir/Appointment",
                         appointment(clinic, "10:00", provider=clinic.colleague))
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.start"]
    assert "already has an appointment" in issues(response)[0]["diagnostics"]


# --- the official example -------------------------------------------------------------------

def test_the_official_example_as_is_is_refused_naming_what_is_not_ours(fhir, clinic, example):
    response = fhir.post("/fhir/Appointment", example("Appointment-example.json"))

    assert response.status_code == 400
    # The example's "Location/1" is a reference to our server: it is ours when that id is.
    location_is_ours = db.session.get(Location, 1) is not None
    assert expressions(response) == [
        "Appointment.participant[0].actor", "Appointment.participant[1].actor",
        *([] if location_is_ours else ["Appointment.participant[2].actor"]),
        "Appointment.appointmentType"]
    type_issue = issues(response)[-1]["diagnostics"]
    assert APPOINTMENT_TYPE_SYSTEM in type_issue
    assert f"{clinic.exam.id} Exam" in type_issue


def test_the_official_example_adapted_to_our_records_reads_back_equal_in_meaning(
        fhir, clinic, example):
    official = example("Appointment-example.json")
    adapted = copy.deepcopy(official)
    start = at(clinic, "09:00", days=1)
    adapted.update(start=utc_text(start), end=utc_text(start + timedelta(minutes=30)),
                   appointmentType=exam_concept(clinic))
    for participant, row in zip(adapted["participant"],
                                (clinic.patient, clinic.provider, clinic.location),
                                strict=True):
        participant["actor"]["reference"] = f"{type(row).__name__}/{row.id}".replace(
            "Provider", "Practitioner")

    created = post(fhir, adapted)
    back = FhirAppointment.model_validate(fhir.get(f"/fhir/Appointment/{created['id']}")
                                          .get_json())

    assert back.status == official["status"]
    assert back.comment == official["comment"]
    assert (back.start, back.end) == (start, start + timedelta(minutes=30))
    assert back.appointmentType.coding[0].code == str(clinic.exam.id)
    assert [(p.actor.reference, p.required, p.status) for p in back.participant] == [
        (p["actor"]["reference"], p["required"], p["status"]) for p in adapted["participant"]]


# --- bad bodies -----------------------------------------------------------------------------

def test_end_must_be_the_types_duration_after_start(fhir, clinic):
    body = appointment(clinic)
    body["end"] = utc_text(at(clinic, "11:00"))
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.end"]
    assert utc_text(at(clinic, "10:30")) in issues(response)[0]["diagnostics"]

    response = fhir.post("/fhir/Appointment", appointment(clinic, minutesDuration=45))
    assert expressions(response) == ["Appointment.minutesDuration"]


@pytest.mark.parametrize(("change", "expression"), [
    ({"status": "arrived"}, "Appointment.status"),
    ({"status": "waitlist"}, "Appointment.status"),
    ({"participant": []}, "Appointment.participant"),
    ({"start": "2026-13-01T10:00:00Z"}, "Appointment.start"),
    ({"start": "2026-12-01T10:00:00"}, "Appointment.start"),
    ({"appointmentType": {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": "99999"}]}},
     "Appointment.appointmentType"),
    ({"serviceType": [{"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": "99999"}]}]},
     "Appointment.serviceType[0]"),
    ({"slot": [{"reference": "Slot/a1"}]}, "Appointment.slot[0]"),
    ({"comment": "x" * 1001}, "Appointment.comment"),
])
def test_bad_appointments_get_400_naming_the_element(fhir, clinic, change, expression):
    response = fhir.post("/fhir/Appointment", appointment(clinic, **change))
    assert response.status_code == 400, response.data
    assert expression in expressions(response)


def test_a_slot_of_an_unknown_schedule_gets_400(fhir, clinic):
    body = appointment(clinic, slot=[{"reference": "Slot/999.1.202612011500"}])
    del body["start"], body["end"]
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.slot"]


def test_references_that_are_not_ours_get_400_naming_each(fhir, clinic):
    elsewhere = factories.make_patient(factories.make_practice(name="Other Practice"))
    body = appointment(clinic, patient=elsewhere)
    body["participant"][1]["actor"]["reference"] = "Practitioner/abc"
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.participant[0].actor",
                                     "Appointment.participant[1].actor"]


def test_participants_we_cannot_keep_get_400(fhir, clinic):
    body = appointment(clinic)
    body["participant"].append({"actor": {"reference": "Device/1"}, "status": "accepted"})
    body["participant"].append({"actor": {"reference": f"Patient/{clinic.other_patient.id}"},
                                "status": "accepted"})
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.participant[3].actor",
                                     "Appointment.participant"]


def test_a_practitioner_at_several_locations_needs_the_location(fhir, clinic, practice):
    uptown = factories.make_location(practice, name="Uptown")
    db.session.get_one(Provider, clinic.provider.id).locations.append(uptown)
    db.session.commit()
    body = appointment(clinic)
    body["participant"] = body["participant"][:2]
    response = fhir.post("/fhir/Appointment", body)
    assert response.status_code == 400
    assert "name the Location" in issues(response)[0]["diagnostics"]


# --- updates --------------------------------------------------------------------------------

def test_moving_the_time_reschedules_and_frees_the_old_time(fhir, clinic, published):
    body = post(fhir, appointment(clinic, "10:00"))
    moved = {**body, "start": utc_text(at(clinic, "14:00")),
             "end": utc_text(at(clinic, "14:30"))}

    response = fhir.put(f"/fhir/Appointment/{body['id']}", moved)

    assert response.status_code == 200, response.data
    assert stored(body["id"]).start_at == at(clinic, "14:00")
    assert isinstance(published[-1], events.AppointmentRescheduled)
    assert published[-1].source == "fhir"
    assert fhir.post("/fhir/Appointment", appointment(
        clinic, "10:00", patient=clinic.other_patient)).status_code == 201


def test_a_move_onto_a_taken_time_is_409_and_changes_nothing(fhir, clinic):
    post(fhir, appointment(clinic, "14:00", patient=clinic.other_patient))
    body = post(fhir, appointment(clinic, "10:00"))
    moved = {**body, "start": utc_text(at(clinic, "14:00")),
             "end": utc_text(at(clinic, "14:30")), "comment": "moved"}

    response = fhir.put(f"/fhir/Appointment/{body['id']}", moved)

    assert response.status_code == 409
    row = stored(body["id"])
    assert (row.start_at, row.note) == (at(clinic, "10:00"), None)


def test_status_patient_answer_and_comment_go_through_the_booking_service(
        fhir, clinic, published):
    body = post(fhir, appointment(clinic))
    body["participant"][0]["status"] = "accepted"
    body["comment"] = "Bring the X-rays"

    answered = fhir.put(f"/fhir/Appointment/{body['id']}", body)
    assert answered.status_code == 200, answered.data
    with clock.frozen_at(at(clinic, "09:50")):  # check-in only on the visit's day
        arrived = fhir.put(f"/fhir/Appointment/{body['id']}",
                           {**answered.get_json(), "status": "arrived"})
    assert arrived.status_code == 200, arrived.data

    row = stored(body["id"])
    assert (row.status, row.patient_status, row.note) == ("arrived", "accepted",
                                                          "Bring the X-rays")
    assert [type(event).__name__ for event in published] == [
        "AppointmentBooked", "PatientResponded", "AppointmentStatusChanged"]
    changes = db.session.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "appointment.change").order_by(AuditEvent.id)).scalars()
    assert [(c["change"], c["source"]) for c in map(json.loads, changes)] == [
        ("book", "fhir"), ("response", "fhir"), ("note", "fhir"), ("status", "fhir")]


def audited_changes() -> list[str]:
    return [json.loads(detail)["change"] for detail in db.session.execute(
        select(AuditEvent.detail).where(AuditEvent.action == "appointment.change")
        .order_by(AuditEvent.id)).scalars()]


@pytest.mark.parametrize(("change", "expression"), [
    ({"comment": "x" * 20_000}, "Appointment.comment"),
    ({"status": "cancelled", "cancelationReason": {"text": "x" * 20_000}},
     "Appointment.cancelationReason"),
])
def test_an_update_refused_in_a_later_step_changes_nothing(fhir, clinic, change, expression):
    body = post(fhir, appointment(clinic, "10:00"))
    moved = {**body, "start": utc_text(at(clinic, "11:00")),
             "end": utc_text(at(clinic, "11:30")), **change}

    response = fhir.put(f"/fhir/Appointment/{body['id']}", moved)

    assert response.status_code == 400, response.data
    assert expressions(response) == [expression]
    row = stored(body["id"])
    assert (row.start_at, row.status, row.note) == (at(clinic, "10:00"), "booked", None)
    assert audited_changes() == ["book"]


def test_an_answer_the_patient_cannot_give_changes_nothing(fhir, clinic):
    body = post(fhir, appointment(clinic, "10:00"))
    body["participant"][0]["status"] = "accepted"
    answered = fhir.put(f"/fhir/Appointment/{body['id']}", body).get_json()
    answered["participant"][0]["status"] = "needs-action"

    response = fhir.put(f"/fhir/Appointment/{body['id']}", {**answered, "comment": "hello"})

    assert response.status_code == 400
    assert expressions(response) == ["Appointment.participant[0].status"]
    assert (stored(body["id"]).patient_status, stored(body["id"]).note) == ("accepted", None)


def test_a_move_awaiting_the_patients_answer_is_not_refused(fhir, clinic):
    body = post(fhir, appointment(clinic, "10:00"))
    body["participant"][0]["status"] = "accepted"
    answered = fhir.put(f"/fhir/Appointment/{body['id']}", body).get_json()
    answered["participant"][0]["status"] = "needs-action"
    moved = {**answered, "start": utc_text(at(clinic, "11:00")),
             "end": utc_text(at(clinic, "11:30"))}

    response = fhir.put(f"/fhir/Appointment/{body['id']}", moved)

    assert response.status_code == 200, response.data
    row = stored(body["id"])
    assert (row.start_at, row.patient_status) == (at(clinic, "11:00"), "needs-action")


def test_a_move_keeps_the_patients_answer_when_the_update_says_so(fhir, clinic):
    body = post(fhir, appointment(clinic, "10:00"))
    body["participant"][0]["status"] = "accepted"
    answered = fhir.put(f"/fhir/Appointment/{body['id']}", body).get_json()
    moved = {**answered, "start": utc_text(at(clinic, "11:00")),
             "end": utc_text(at(clinic, "11:30"))}

    response = fhir.put(f"/fhir/Appointment/{body['id']}", moved)

    assert response.status_code == 200, response.data
    assert response.get_json()["participant"][0]["status"] == "accepted"
    assert stored(body["id"]).patient_status == "accepted"


def test_an_appointment_keeps_its_length_after_its_type_changes(fhir, clinic):
    body = post(fhir, appointment(clinic, "10:00"))
    clinic.exam.duration_minutes = 45
    db.session.commit()
    served = fhir.get(f"/fhir/Appointment/{body['id']}").get_json()

    response = fhir.put(f"/fhir/Appointment/{body['id']}", cancelled(served))

    assert response.status_code == 200, response.data
    row = stored(body["id"])
    assert (row.status, row.end_at) == ("cancelled", at(clinic, "10:30"))


def test_a_moved_appointment_takes_its_types_current_length(fhir, clinic):
    body = post(fhir, appointment(clinic, "10:00"))
    clinic.exam.duration_minutes = 45
    db.session.commit()
    old_length = {**body, "start": utc_text(at(clinic, "11:00")),
                  "end": utc_text(at(clinic, "11:30")), "minutesDuration": None}
    assert fhir.put(f"/fhir/Appointment/{body['id']}", old_length).status_code == 400

    response = fhir.put(f"/fhir/Appointment/{body['id']}",
                        {**old_length, "end": utc_text(at(clinic, "11:45"))})

    assert response.status_code == 200, response.data
    assert stored(body["id"]).end_at == at(clinic, "11:45")


def test_a_status_the_appointment_cannot_go_to_is_409_and_nothing_changes(fhir, clinic):
    body = post(fhir, appointment(clinic, "10:00"))
    backwards = {**body, "status": "proposed", "start": utc_text(at(clinic, "14:00")),
                 "end": utc_text(at(clinic, "14:30"))}

    response = fhir.put(f"/fhir/Appointment/{body['id']}", backwards)

    assert response.status_code == 409
    assert "cannot go from booked to proposed" in issues(response)[0]["diagnostics"]
    row = stored(body["id"])
    assert (row.status, row.start_at) == ("booked", at(clinic, "10:00"))


def test_cancelling_needs_a_reason(fhir, clinic):
    body = post(fhir, appointment(clinic))
    response = fhir.put(f"/fhir/Appointment/{body['id']}", {**body, "status": "cancelled"})
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.cancelationReason"]
    assert stored(body["id"]).status == "booked"


def test_the_reason_may_be_a_coding(fhir, clinic):
    body = post(fhir, appointment(clinic))
    reason = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/appointment-"
                                    "cancellation-reason", "code": "pat", "display": "Patient"}]}
    response = fhir.put(f"/fhir/Appointment/{body['id']}",
                        {**body, "status": "cancelled", "cancelationReason": reason})
    assert response.status_code == 200, response.data
    assert stored(body["id"]).cancel_reason == "Patient"


def test_the_patient_cannot_be_swapped(fhir, clinic):
    body = post(fhir, appointment(clinic))
    other = appointment(clinic, patient=clinic.other_patient, id=body["id"])
    response = fhir.put(f"/fhir/Appointment/{body['id']}", other)
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.participant[0].actor"]


def test_a_stale_version_is_412(fhir, clinic):
    body = post(fhir, appointment(clinic))
    fhir.put(f"/fhir/Appointment/{body['id']}", {**body, "comment": "first"})
    stale = fhir.put(f"/fhir/Appointment/{body['id']}", {**body, "comment": "second"},
                     headers={"If-Match": f'W/"{body["meta"]["versionId"]}"'})
    assert stale.status_code == 412
    assert stored(body["id"]).note == "first"


def test_updating_an_unknown_appointment_is_404(fhir, clinic):
    response = fhir.put("/fhir/Appointment/999999", appointment(clinic, id="999999"))
    assert response.status_code == 404
    assert issues(response)[0]["code"] == "not-found"


# --- search ---------------------------------------------------------------------------------

@pytest.fixture
def booked(fhir, clinic) -> dict[str, str]:  # noqa: ANN001
    """Three appointments: Lucía with Rivera Monday 10:00 and Tuesday 10:00 (cancelled), the
    other patient with Okafor Monday 09:00."""
    monday = post(fhir, appointment(clinic, "10:00"))
    tuesday_body = appointment(clinic)
    tuesday_body.update(start=utc_text(at(clinic, "10:00", days=1)),
                        end=utc_text(at(clinic, "10:30", days=1)))
    tuesday = post(fhir, tuesday_body)
    assert fhir.put(f"/fhir/Appointment/{tuesday['id']}", cancelled(tuesday)).status_code == 200
    other = post(fhir, appointment(clinic, "09:00", patient=clinic.other_patient,
                                   provider=clinic.colleague))
    return {"monday": monday["id"], "tuesday": tuesday["id"], "other": other["id"]}


def found(fhir, **params: str) -> list[str]:  # noqa: ANN001
    response = fhir.get("/fhir/Appointment", **params)
    assert response.status_code == 200, response.data
    bundle = Bundle.model_validate(response.get_json())
    return [entry.resource.id for entry in bundle.entry or []]


def test_search_by_patient_actor_status_and_date(fhir, clinic, booked):
    assert found(fhir) == [booked["other"], booked["monday"], booked["tuesday"]]  # by start
    assert found(fhir, patient=f"Patient/{clinic.patient.id}") == [booked["monday"],
                                                                    booked["tuesday"]]
    assert found(fhir, patient=str(clinic.other_patient.id)) == [booked["other"]]
    assert found(fhir, actor=f"Practitioner/{clinic.colleague.id}") == [booked["other"]]
    assert found(fhir, actor=f"Patient/{clinic.other_patient.id}") == [booked["other"]]
    assert found(fhir, actor=f"Location/{clinic.location.id}") == [
        booked["other"], booked["monday"], booked["tuesday"]]
    assert found(fhir, practitioner=f"Practitioner/{clinic.provider.id}") == [
        booked["monday"], booked["tuesday"]]
    assert found(fhir, status="cancelled") == [booked["tuesday"]]
    assert found(fhir, status="booked,arrived") == [booked["other"], booked["monday"]]
    assert found(fhir, _id=f"{booked['other']},{booked['tuesday']}") == [booked["other"],
                                                                         booked["tuesday"]]
    day = clinic.monday.isoformat()
    assert found(fhir, date=day) == [booked["other"], booked["monday"]]
    assert found(fhir, date=[f"ge{utc_text(at(clinic, '09:30'))}",
                             f"le{(clinic.monday + timedelta(days=1)).isoformat()}"]) == [
        booked["monday"], booked["tuesday"]]
    assert found(fhir, date=f"gt{day}") == [booked["tuesday"]]
    assert found(fhir, patient="Patient/999999") == []


def test_search_by_last_update_and_paging(fhir, booked):
    assert found(fhir, _lastUpdated="ge2000-01-01") != []
    assert found(fhir, _lastUpdated="lt2000-01-01") == []
    first = fhir.get("/fhir/Appointment", _count="2").get_json()
    assert first["total"] == 3 and len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    rest = fhir.client.get(next_url.removeprefix("http://localhost"),
                           headers={"Authorization": f"Bearer {fhir.token}"}).get_json()
    assert [entry["resource"]["id"] for entry in rest["entry"]] == [booked["tuesday"]]


@pytest.mark.parametrize("params", [
    {"actor": "12"}, {"patient": "Practitioner/1"}, {"status": "done"},
    {"date": "sometime"}, {"date": "ne2026-01-01"}, {"subject": "Patient/1"},
])
def test_bad_searches_get_400(fhir, clinic, params):
    response = fhir.get("/fhir/Appointment", **params)
    assert response.status_code == 400
    assert issues(response)[0]["code"] == "invalid"


def test_reads_and_searches_are_audited_with_the_patient(fhir, clinic, booked):
    fhir.get(f"/fhir/Appointment/{booked['monday']}")
    fhir.get("/fhir/Appointment", patient=str(clinic.patient.id))

    rows = db.session.execute(select(AuditEvent).where(
        AuditEvent.action.in_(["fhir.read", "fhir.search"]),
        AuditEvent.object_type == "appointment").order_by(AuditEvent.id)).scalars().all()
    assert [(row.action, row.patient_id) for row in rows] == [
        ("fhir.read", clinic.patient.id), ("fhir.search", None)]
    detail = json.loads(rows[1].detail)
    assert (detail["results"], detail["patient_ids"]) == (2, [clinic.patient.id])


def test_another_practices_appointment_is_not_found(fhir, clinic):
    other = factories.make_practice(name="Other Practice")
    location = factories.make_location(other)
    stranger = factories.make_appointment(factories.make_patient(other),
                                          factories.make_provider(other, locations=[location]),
                                          location)
    assert fhir.get(f"/fhir/Appointment/{stranger.id}").status_code == 404
    assert found(fhir) == []


def test_a_plain_date_searches_the_practices_day(fhir, clinic, practice):
    practice.timezone = "America/Los_Angeles"
    db.session.commit()
    # Moved past Chicago's hours: 17:30 Monday in Los Angeles is 01:30 Tuesday in UTC.
    late = post(fhir, appointment(clinic, "16:30"))
    stored_late = stored(late["id"])
    stored_late.start_at = datetime.combine(clinic.monday, time(17, 30),
                                            ZoneInfo("America/Los_Angeles")).astimezone(UTC)
    stored_late.end_at = stored_late.start_at + timedelta(minutes=30)
    db.session.commit()

    def found(day: date) -> list[str]:
        response = fhir.get("/fhir/Appointment", date=str(day))
        assert response.status_code == 200, response.data
        return [entry["resource"]["id"] for entry in response.get_json().get("entry", [])]

    assert found(clinic.monday) == [late["id"]]
    assert found(clinic.monday + timedelta(days=1)) == []


@pytest.mark.parametrize(("name", "value"), [
    ("date", "ge0001-01-01T00:00:00+01:00"),
    ("date", "le9999-12-31T20:00:00-05:00"),
    ("_lastUpdated", "le9999-12-31T20:00:00-05:00"),
    ("date", "9999-12-31"),
])
def test_extreme_instants_in_a_search_get_400(fhir, name, value):
    response = fhir.get("/fhir/Appointment", **{name: value})
    assert response.status_code == 400
    assert expressions(response) == [name]


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+01:00", "0001-01-01T10:00:00Z"])
def test_an_appointment_in_year_one_is_refused(fhir, clinic, start):
    response = fhir.post("/fhir/Appointment", {**appointment(clinic), "start": start,
                                               "end": None})
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.start"]
