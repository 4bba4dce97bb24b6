"""FHIR Appointment: read, search, create and update, through the booking service.

Every write takes the same path as a booking at the desk (``app.scheduling.booking``, source
"fhir"): the double-booking rule, the patient's other appointments, audit and domain events.
Booking-window rules (notice, days ahead, online booking) are the patient's and do not apply.

An update is compared with the appointment as it is and applied by ``booking.update`` as one
transaction, so a refused step changes nothing: the time, practitioner, location or type
(reschedule; a lost time is 409 with the next open times), the patient's answer (compared after
a move, which resets it), the status (cancel or a status change), the comment. A status the
appointment cannot go to from its current one is 409 (the request is well formed but
conflicts with the state). The end must be the start plus the type's duration, except on an
appointment that stays where it is: it keeps the end it was booked with, so a type whose
duration changed since does not make its appointments unchangeable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from sqlalchemy import false, select
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.core.ids import split_reference
from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError, InvalidResource
from app.fhir.mapping import appointment as mapping
from app.fhir.mapping import refused
from app.fhir.mapping.codes import APPOINTMENT_TYPE_SYSTEM
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    instant_conditions,
    parse_ids,
    parse_reference,
    practice_zone,
    run_page,
)
from app.fhir.toolkit import (
    Found,
    ResourceHandler,
    audit_access,
    check_body_id,
    check_if_match,
    load_owned,
    validated,
)
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling import booking
from app.scheduling.booking_rules import INITIAL_STATUSES, TRANSITIONS, check_transition
from app.scheduling.models import Appointment, AppointmentStatus, AppointmentType, Schedule
from app.scheduling.slots import Slot
from app.security import audit

SOURCE = "fhir"
MAX_AHEAD = timedelta(days=10 * 365)  # a bound for nonsense dates, far past any booking horizon
STATUSES = tuple(str(status) for status in AppointmentStatus)
_ACTOR_COLUMNS = {"Patient": Appointment.patient_id, "Practitioner": Appointment.provider_id,
                  "Location": Appointment.location_id}

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("patient", "reference", "The patient: Patient/<id> or <id>."),
    SearchParam("practitioner", "reference", "The practitioner: Practitioner/<id> or <id>."),
    SearchParam("location", "reference", "The location: Location/<id> or <id>."),
    SearchParam("actor", "reference", "Any participant: Patient/<id>, Practitioner/<id> or "
                                      "Location/<id> (the type is needed)."),
    SearchParam("date", "date", "The start: eq, gt, ge, lt, le with a date (a day in the "
                                "practice's time zone) or a dateTime with a zone; give it "
                                "twice for a range."),
    SearchParam("status", "token", "One status or several separated by commas."),
    SearchParam("_lastUpdated", "date", "When the appointment last changed: eq, gt, ge, lt, "
                                        "le."),
)


def read(*, client: ApiClient, resource_id: str) -> FhirAppointment:
    appointment = load_owned(Appointment, "Appointment", client, resource_id)
    audit_access(audit.Action.FHIR_READ, client, "Appointment", object_id=appointment.id,
                 patient_id=appointment.patient_id)
    db.session.commit()
    return mapping.to_fhir(appointment)


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    stmt = (select(Appointment)
            .where(Appointment.practice_id == client.practice_id, *_conditions(client, request))
            .options(selectinload(Appointment.patient), selectinload(Appointment.provider),
                     selectinload(Appointment.location),
                     selectinload(Appointment.appointment_type))
            .order_by(Appointment.start_at, Appointment.id))
    page = run_page(stmt, request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Appointment", detail={
        "params": sorted(request.params), "results": page.total,
        "patient_ids": sorted({a.patient_id for a in page.rows})})
    found = Found([mapping.to_fhir(a) for a in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _conditions(client: ApiClient, request: SearchRequest) -> list[Any]:
    zone = practice_zone(client.practice_id)
    conditions: list[Any] = []
    if (ids := request.one("_id")) is not None:
        conditions.append(Appointment.id.in_(parse_ids(ids)))
    for name, kind in (("patient", "Patient"), ("practitioner", "Practitioner"),
                       ("location", "Location")):
        if (value := request.one(name)) is not None:
            row_id = parse_reference(name, value, kind)
            conditions.append(_ACTOR_COLUMNS[kind] == row_id if row_id else false())
    if (value := request.one("actor")) is not None:
        conditions.append(_actor_condition(value))
    if "date" in request.params:
        conditions += instant_conditions("date", request.params["date"], Appointment.start_at,
                                         zone=zone)
    if (value := request.one("status")) is not None:
        wanted = [part.strip() for part in value.split(",")]
        unknown = [part for part in wanted if part not in STATUSES]
        if unknown:
            raise FhirError(400, f"Unknown status {unknown[0]!r} (statuses: "
                                 f"{', '.join(STATUSES)}).", expression="status")
        conditions.append(Appointment.status.in_(wanted))
    if "_lastUpdated" in request.params:
        conditions += instant_conditions("_lastUpdated", request.params["_lastUpdated"],
                                         Appointment.updated_at, zone=zone)
    return conditions


def _actor_condition(value: str) -> Any:
    kind, _ = split_reference(value)
    if kind not in _ACTOR_COLUMNS:
        raise FhirError(400, f"'actor' must name its type: Patient/<id>, Practitioner/<id> or "
                             f"Location/<id>, not {value!r}.", expression="actor")
    row_id = parse_reference("actor", value, kind)
    return _ACTOR_COLUMNS[kind] == row_id if row_id else false()


def create(*, client: ApiClient, body: Any) -> FhirAppointment:
    fields = mapping.from_fhir(validated(FhirAppointment, body))
    if fields.status not in INITIAL_STATUSES:
        raise FhirError(400, f"A new appointment must be {', '.join(INITIAL_STATUSES)}, not "
                             f"{fields.status!r}.", expression="Appointment.status")
    wanted = _resolve(client, fields)
    with _booking_errors(wanted):
        appointment = booking.book(patient_id=wanted.patient_id, slot=wanted.slot,
                                   source=SOURCE, note=fields.comment, status=fields.status,
                                   response=fields.patient_status)
    audit_access(audit.Action.FHIR_CREATE, client, "Appointment", object_id=appointment.id,
                 patient_id=appointment.patient_id)
    db.session.commit()
    return mapping.to_fhir(appointment)


def update(*, client: ApiClient, resource_id: str, body: Any,
           if_match: str | None) -> FhirAppointment:
    resource = validated(FhirAppointment, body)
    check_body_id(resource, resource_id)
    appointment = load_owned(Appointment, "Appointment", client, resource_id, for_update=True)
    check_if_match(if_match, mapping.version(appointment))
    fields = mapping.from_fhir(resource, appointment_id=appointment.id)
    wanted = _resolve(client, fields, current=appointment)
    if wanted.patient_id != appointment.patient_id:
        raise FhirError(400, "An appointment's patient cannot change: cancel it and book "
                             "one for the other patient.", expression=fields.patient.expression)
    with _booking_errors(wanted):
        if fields.status != appointment.status:
            _check_status_change(appointment.status, fields)
        changes = booking.update(appointment_id=appointment.id, source=SOURCE,
                                 new_slot=wanted.slot, response=fields.patient_status,
                                 status=fields.status, note=fields.comment,
                                 cancel_reason=fields.cancel_reason)
    audit_access(audit.Action.FHIR_UPDATE, client, "Appointment", object_id=appointment.id,
                 patient_id=appointment.patient_id, detail={"changes": changes})
    db.session.commit()
    return mapping.to_fhir(appointment)


def _check_status_change(old_status: str, fields: mapping.AppointmentFields) -> None:
    """Refuse a status change in the API's words, before the booking service is asked."""
    if fields.status not in TRANSITIONS:
        raise FhirError(400, f"Status {fields.status!r} is not kept here (statuses: "
                             f"{', '.join(TRANSITIONS)}).", expression="Appointment.status")
    check_transition(old_status, fields.status, source=SOURCE)
    if fields.status == AppointmentStatus.CANCELLED and not (fields.cancel_reason or "").strip():
        raise FhirError(400, "Say why the appointment is cancelled in "
                             "Appointment.cancelationReason (text or a coding's display).",
                        expression="Appointment.cancelationReason")


@dataclass(frozen=True)
class _Wanted:
    """A posted Appointment resolved against our records: what to book."""

    patient_id: int
    slot: Slot
    sources: dict[str, str]  # booking service field → the element it came from


def _resolve(client: ApiClient, fields: mapping.AppointmentFields,
             current: Appointment | None = None) -> _Wanted:
    """The patient and slot the resource names; InvalidResource naming each element that
    names something we do not have. The end is start + the type's duration, or ``current``'s
    end when the start, practitioner, location and type are ``current``'s."""
    problems: list[tuple[str, str]] = []
    patient = _owned(Patient, client, fields.patient, problems)
    provider = _owned(Provider, client, fields.practitioner, problems)
    location = _owned(Location, client, fields.location, problems)
    if fields.free_slot is not None:
        schedule = db.session.get(Schedule, fields.free_slot.schedule_id)
        if schedule is None or schedule.practice_id != client.practice_id:
            problems.append(("Appointment.slot", "Appointment.slot: names a Schedule that is "
                             "not known here"))
        else:
            location = _agree(location, schedule.location, schedule.location.name,
                              fields.location, problems)
            if schedule.provider is not None:
                provider = _agree(provider, schedule.provider, schedule.provider.display_name,
                                  fields.practitioner, problems)
    if provider is None and fields.practitioner is None:
        problems.append(("Appointment.participant", "Appointment.participant: a Practitioner "
                         "participant (Practitioner/<id>) is needed"))
    if location is None and fields.location is None and provider is not None:
        if len(provider.locations) == 1:
            location = provider.locations[0]
        else:
            problems.append(("Appointment.participant", "Appointment.participant: name the "
                             f"Location (Location/<id>): {provider.display_name} works at "
                             f"{len(provider.locations)} locations"))
    kind = _appointment_type(client, fields, problems)
    if fields.start > utcnow() + MAX_AHEAD:
        problems.append(("Appointment.start", "Appointment.start: more than "
                         f"{MAX_AHEAD.days // 365} years ahead"))
        kind = None
    end = fields.start
    if kind is not None:
        minutes = kind.duration_minutes
        if current is not None and _stays(current, fields.start, provider, location, kind):
            minutes = (current.end_at - current.start_at) // timedelta(minutes=1)
        end = fields.start + timedelta(minutes=minutes)
        if fields.end is not None and fields.end != end:
            problems.append(("Appointment.end", "Appointment.end: must be "
                             f"{end.astimezone(UTC).isoformat().replace('+00:00', 'Z')}, "
                             f"{minutes} minutes after the start ({kind.name})"))
        if fields.minutes is not None and fields.minutes != minutes:
            problems.append(("Appointment.minutesDuration", "Appointment.minutesDuration: "
                             f"this {kind.name} takes {minutes} minutes"))
    if problems:
        raise InvalidResource(problems)
    assert patient is not None and provider is not None and location is not None
    assert kind is not None
    where_provider = fields.practitioner.expression if fields.practitioner else "Appointment.slot"
    where_location = fields.location.expression if fields.location else "Appointment.participant"
    return _Wanted(
        patient_id=patient.id,
        slot=Slot(start=fields.start, end=end, provider_id=provider.id, location_id=location.id,
                  appointment_type_id=kind.id),
        sources={"patient_id": fields.patient.expression, "provider_id": where_provider,
                 "location_id": where_location, "appointment_type_id": fields.type_expression,
                 "start": "Appointment.start", "end": "Appointment.end",
                 "note": "Appointment.comment", "status": "Appointment.status",
                 "reason": "Appointment.cancelationReason",
                 "response": fields.patient_status_expression, "appointment_id": "Appointment"})


def _stays(current: Appointment, start: datetime, provider: Provider | None,
           location: Location | None, kind: AppointmentType) -> bool:
    """Whether the posted time, practitioner, location and type are the appointment's own."""
    return (start == current.start_at and provider is not None and location is not None
            and (provider.id, location.id, kind.id) == (current.provider_id,
                                                        current.location_id,
                                                        current.appointment_type_id))


def _owned(model: Any, client: ApiClient, actor: mapping.Actor | None,
           problems: list[tuple[str, str]]) -> Any:
    if actor is None:
        return None
    row = db.session.get(model, actor.row_id) if actor.row_id is not None else None
    if row is None or row.practice_id != client.practice_id:
        problems.append((actor.expression, f"{actor.expression}: {actor.reference} is not known "
                         "here"))
        return None
    return row


def _agree(named: Any, from_slot: Any, label: str, actor: mapping.Actor | None,
           problems: list[tuple[str, str]]) -> Any:
    """The row the slot's schedule names, which a participant must not contradict."""
    if named is not None and named.id != from_slot.id and actor is not None:
        problems.append((actor.expression, f"{actor.expression}: the slot named is on "
                         f"{label}'s calendar, not {actor.reference}'s"))
    return from_slot


def _appointment_type(client: ApiClient, fields: mapping.AppointmentFields,
                      problems: list[tuple[str, str]]) -> AppointmentType | None:
    where = fields.type_expression
    if fields.type_id is None:
        offered = db.session.execute(
            select(AppointmentType).where(AppointmentType.practice_id == client.practice_id,
                                          AppointmentType.active.is_(True))
            .order_by(AppointmentType.id)).scalars()
        problems.append((where, f"{where}: name the appointment type with a coding of system "
                         f"{APPOINTMENT_TYPE_SYSTEM} and our type id as code (ours: "
                         f"{', '.join(f'{t.id} {t.name}' for t in offered) or 'none'}), or "
                         "name a free Slot in Appointment.slot"))
        return None
    kind = db.session.get(AppointmentType, fields.type_id)
    if kind is None or kind.practice_id != client.practice_id:
        problems.append((where, f"{where}: appointment type {fields.type_id} is not known here"))
        return None
    return kind


@contextmanager
def _booking_errors(wanted: _Wanted) -> Iterator[None]:
    """The booking service's refusals as FHIR errors naming the elements at fault."""
    try:
        yield
    except booking.SlotTaken as error:
        raise _slot_taken(wanted.slot, error.next_slots) from None
    except booking.InvalidTransition as error:
        raise FhirError(409, f"{error}.", expression="Appointment.status") from None
    except booking.ScheduleBusy as error:
        raise FhirError(503, f"{error}.", code="transient") from None
    except booking.BookingInputError as error:
        raise refused("Appointment", error.errors, wanted.sources) from None


def _slot_taken(slot: Slot, next_slots: list[Slot]) -> FhirError:
    """409, with the next open times (in the location's zone) to try instead."""
    location = db.session.get_one(Location, slot.location_id)
    zone = ZoneInfo(location.timezone)
    names = {provider.id: provider.display_name for provider in db.session.execute(
        select(Provider).where(Provider.id.in_(
            {slot.provider_id} | {s.provider_id for s in next_slots}))).scalars()}
    offers = "; ".join(f"{s.start.astimezone(zone).isoformat(timespec='minutes')} with "
                       f"{names[s.provider_id]}" for s in next_slots)
    return FhirError(409, f"{names[slot.provider_id]} is not free at "
                          f"{slot.start.astimezone(zone).isoformat(timespec='minutes')} at "
                          f"{location.name}: the time is taken or outside working hours. "
                          + (f"Next open times: {offers}." if offers else
                             "No open time was found for this appointment type there."),
                     expression="Appointment.start")


HANDLER = ResourceHandler(
    resource_type="Appointment",
    documentation=(
        "Appointments of the token's practice, booked through the same service as the desk: "
        "a time already taken is 409 with the next open times. Participants: one Patient, "
        "one Practitioner, one Location (optional when the practitioner works at one). The "
        f"type is a coding of {APPOINTMENT_TYPE_SYSTEM} or a free Slot; end must be start + "
        "the type's duration (an appointment not moved keeps its own). An update is applied "
        "whole or not at all. New appointments are proposed, pending or booked; a status "
        "the appointment cannot go to from its current one is 409; cancelling needs "
        "cancelationReason. Description, priority, specialty and reasons are accepted and "
        "not kept."),
    search_params=SEARCH_PARAMS,
    read=read, search=search, create=create, update=update,
)
