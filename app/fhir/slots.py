"""FHIR Slot: open time computed by the slot engine, appointments' held time, and time off
and extra hours, on the schedules service. Nothing here is stored as a Slot: ids say what a
slot is (``app.fhir.mapping.codes``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.slot import Slot as FhirSlot

from app.core.clock import utcnow
from app.core.types import EARLIEST, LATEST
from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError
from app.fhir.mapping import slot as mapping
from app.fhir.mapping.codes import (
    APPOINTMENT_TYPE_SYSTEM,
    FreeSlotId,
    StoredSlotId,
    parse_slot_id,
)
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    instant_bounds,
    parse_reference,
    parse_token,
    practice_zone,
    slice_page,
)
from app.fhir.toolkit import (
    Found,
    ResourceHandler,
    audit_access,
    check_body_id,
    check_if_match,
    content_version,
    not_found,
    validated,
    with_version,
)
from app.scheduling import calendars, schedules
from app.scheduling.models import Schedule
from app.scheduling.schedules import BUSY, BUSY_UNAVAILABLE, FREE, TimeOnSchedule
from app.scheduling.slots import HOLDING_STATUSES
from app.security import audit
from app.web.public_url import public_url

DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=31)
MAX_IDS = 100

SEARCH_PARAMS = (
    SearchParam("schedule", "reference", "Schedule/<id>; required for free slots. Without "
                                         "it, busy and busy-unavailable slots of every "
                                         "schedule."),
    SearchParam("start", "date", "Start of the slot, with prefixes ge, gt, le, lt; a date is "
                                 "a day in the practice's time zone (default: from now for "
                                 "7 days; a window longer than 31 days is refused)."),
    SearchParam("status", "token", "free, busy or busy-unavailable (comma-separated for "
                                   "several)."),
    SearchParam("service-type", "token", "Appointment type of open slots, "
                                         f"{APPOINTMENT_TYPE_SYSTEM}|<id> or <id>."),
    SearchParam("_id", "token", "Slot ids, comma-separated."),
)


def served(item: TimeOnSchedule) -> FhirSlot:
    resource = mapping.to_fhir(item, booking_link=_booking_link(item, {}))
    return resource.model_copy(update={"meta": Meta(versionId=content_version(resource))})


def served_json(item: TimeOnSchedule, links: dict[tuple[int, ...], str]) -> dict[str, Any]:
    """What ``served`` serves, as JSON, without building (and validating) a model per slot:
    a search page holds up to 100 of them (``links``: see ``_booking_link``)."""
    return with_version(mapping.to_json(item, booking_link=_booking_link(item, links)))


def _booking_link(item: TimeOnSchedule, links: dict[tuple[int, ...], str]) -> str | None:
    """The patient self-scheduling page with this slot's type, location, provider (none on a
    location's calendar: first available) and local day chosen; the patient picks the time
    there. Only for types patients may book online. ``links`` keeps the URL before its day
    per type, location and provider, so a page of slots builds each once."""
    kind = item.appointment_type
    if kind is None or item.exception is not None or not kind.bookable_online:
        return None
    location = item.schedule.location
    params: dict[str, Any] = {"type": kind.id, "location": location.id}
    if item.schedule.provider_id is not None:
        params["provider"] = item.schedule.provider_id
    key = tuple(params.values())
    if key not in links:  # the day comes last, an ISO date: nothing in it to escape
        links[key] = public_url("book.time", **params) + "&day="
    return links[key] + item.start.astimezone(ZoneInfo(location.timezone)).date().isoformat()


def read(*, client: ApiClient, resource_id: str) -> FhirSlot:
    item = _resolve(client, resource_id)
    if item is None and isinstance(parse_slot_id(resource_id), FreeSlotId):
        raise FhirError(404, f"Slot/{resource_id} is not free (any more): open slots are "
                             "computed from the calendar; search again.")
    if item is None:
        raise not_found("Slot", resource_id)
    appointment = item.appointment
    audit_access(audit.Action.FHIR_READ, client, "Slot",
                 patient_id=appointment.patient_id if appointment else None,
                 detail={"slot": resource_id})
    db.session.commit()
    return served(item)


def _resolve(client: ApiClient, resource_id: str) -> TimeOnSchedule | None:
    """What a Slot id names, as it lies on its schedule now; None when it names nothing (or
    open time that is no longer free)."""
    parsed = parse_slot_id(resource_id)
    if isinstance(parsed, FreeSlotId):
        schedule = _schedule(client, parsed.schedule_id)
        if schedule is None or parsed.start >= LATEST:
            return None
        found = schedules.time_on(schedules=[schedule], start=parsed.start,
                                  end=parsed.start + timedelta(minutes=1), statuses=(FREE,),
                                  type_ids={parsed.appointment_type_id})
        return next((item for item in found if item.start == parsed.start), None)
    if isinstance(parsed, StoredSlotId) and parsed.kind == "appointment":
        appointment = schedules.appointment_in_practice(client.practice_id, parsed.row_id)
        if appointment is None or appointment.status not in HOLDING_STATUSES:
            return None
        schedule = schedules.schedule_of_appointment(appointment)
        return schedule and TimeOnSchedule(schedule, BUSY, appointment.start_at,
                                           appointment.end_at, appointment=appointment)
    if isinstance(parsed, StoredSlotId):
        exception = schedules.exception_in_practice(client.practice_id, parsed.row_id)
        schedule = exception and schedules.schedule_of_exception(client.practice_id, exception)
        return schedule and TimeOnSchedule(schedule, schedules.exception_status(exception),
                                           exception.starts_at, exception.ends_at,
                                           exception=exception)
    return None


def _schedule(client: ApiClient, schedule_id: int | None) -> Schedule | None:
    if schedule_id is None:
        return None
    found = schedules.schedules_in(client.practice_id, schedule_ids=[schedule_id])
    return found[0] if found else None


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    statuses = _statuses(request)
    starts = request.params.get("start", [])
    lower, upper = instant_bounds("start", starts, zone=practice_zone(client.practice_id)
                                  if starts else ZoneInfo("UTC"))
    type_ids = _type_ids(request)
    schedule_ref = request.one("schedule")
    if (ids := request.one("_id")) is not None:
        wanted = ids.split(",")
        if len(wanted) > MAX_IDS:
            raise FhirError(400, f"'_id' may name at most {MAX_IDS} slots.", expression="_id")
        found = [item for item in (_resolve(client, part.strip()) for part in wanted)
                 if item is not None]
        schedule_id = schedule_ref and parse_reference("schedule", schedule_ref, "Schedule")
        found = [item for item in found if item.status in statuses
                 and (schedule_ref is None or item.schedule.id == schedule_id)
                 and (type_ids is None or (item.appointment_type is not None
                                           and item.appointment_type.id in type_ids))
                 and (lower is None or item.start >= lower)
                 and (upper is None or item.start < upper)]
    else:
        found = _in_window(client, request, statuses, type_ids, lower, upper)
    page = slice_page(found, request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Slot",
                 detail={"params": sorted(request.params), "results": page.total})
    links: dict[tuple[int, ...], str] = {}
    found = Found([served_json(item, links) for item in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _in_window(client: ApiClient, request: SearchRequest, statuses: set[str],
               type_ids: set[int] | None, lower: datetime | None, upper: datetime | None
               ) -> list[TimeOnSchedule]:
    schedule_ref = request.one("schedule")
    schedule_id = None
    if schedule_ref is None:
        if FREE in statuses and "status" in request.params:
            raise FhirError(400, "Free slots are computed per schedule: add "
                                 "schedule=Schedule/<id> (see Schedule search).",
                            expression="schedule")
        statuses = statuses - {FREE}
    else:
        schedule_id = parse_reference("schedule", schedule_ref, "Schedule")
    start = lower or utcnow()
    if not EARLIEST <= start < LATEST:
        return []
    end = upper or start + DEFAULT_WINDOW
    if end - start > MAX_WINDOW:
        raise FhirError(400, f"'start' may span at most {MAX_WINDOW.days} days; narrow it "
                             "with ge and lt.", expression="start")
    if end <= start or not statuses or (schedule_ref is not None and not schedule_id):
        return []
    if schedule_id is None:
        return schedules.time_on(schedules=schedules.schedules_in(client.practice_id),
                                 start=start, end=end, statuses=statuses, type_ids=type_ids)
    loaded = schedules.load_schedules(client.practice_id, schedule_ids=[schedule_id],
                                      start=start, end=end)  # one query: the calendar, its
    return schedules.time_on(schedules=loaded.schedules, start=start,  # types, exceptions
                             end=end, statuses=statuses, type_ids=type_ids, loaded=loaded)


def _statuses(request: SearchRequest) -> set[str]:
    """The statuses asked for; codes we never serve (busy-tentative, entered-in-error, or
    unknown) match nothing."""
    value = request.one("status")
    if value is None:
        return set(schedules.STATUSES)
    return {part.strip() for part in value.split(",")} & set(schedules.STATUSES)


def _type_ids(request: SearchRequest) -> set[int] | None:
    value = request.one("service-type")
    if value is None:
        return None
    system, code = parse_token(value)
    if system not in (None, APPOINTMENT_TYPE_SYSTEM) or not code.isdigit() or len(code) > 9:
        return set()
    return {int(code)}


def create(*, client: ApiClient, body: Any) -> FhirSlot:
    fields = mapping.from_fhir(validated(FhirSlot, body))
    schedule = _provider_schedule(client, fields)
    add = (calendars.add_time_off if fields.status == BUSY_UNAVAILABLE
           else calendars.add_extra_hours)
    try:
        exception = add(practice_id=client.practice_id, provider_id=schedule.provider_id,
                        location_id=schedule.location_id, starts_at=fields.start,
                        ends_at=fields.end, label=fields.comment)
    except calendars.CalendarInputError as error:
        raise mapping.refused_fields(error) from None
    audit_access(audit.Action.FHIR_CREATE, client, "Slot", object_id=exception.id,
                 detail={"slot": f"x{exception.id}", "kind": exception.kind})
    db.session.commit()
    return served(TimeOnSchedule(schedule, fields.status, exception.starts_at,
                                 exception.ends_at, exception=exception))


def _provider_schedule(client: ApiClient, fields: mapping.SlotFields) -> Schedule:
    schedule = _schedule(client, fields.schedule_id)
    if schedule is None:
        raise FhirError(400, "Slot.schedule must reference a Schedule of this practice "
                             "(Schedule/<id>); it is not known.", expression="Slot.schedule")
    if schedule.provider_id is None:
        raise FhirError(400, f"Schedule/{schedule.id} is a whole location's calendar: time "
                             "off and extra hours belong to a provider's calendar (a Schedule "
                             "with a Practitioner actor).", expression="Slot.schedule")
    return schedule


def update(*, client: ApiClient, resource_id: str, body: Any,
           if_match: str | None) -> FhirSlot:
    parsed = parse_slot_id(resource_id)
    if isinstance(parsed, FreeSlotId):
        raise FhirError(400, f"Slot/{resource_id} is open time computed from working hours "
                             "and appointments and cannot be edited: to block time, POST a "
                             "Slot with status busy-unavailable.", code="business-rule")
    if isinstance(parsed, StoredSlotId) and parsed.kind == "appointment":
        raise FhirError(400, f"Slot/{resource_id} is the time held by Appointment/"
                             f"{parsed.row_id}: change or cancel the Appointment instead.",
                        code="business-rule")
    current = _resolve(client, resource_id)
    if current is None or current.exception is None:
        raise not_found("Slot", resource_id)
    resource = validated(FhirSlot, body)
    check_body_id(resource, resource_id)
    check_if_match(if_match, content_version(served(current)))
    fields = mapping.from_fhir(resource)
    if fields.status != current.status:
        raise FhirError(400, f"Slot.status cannot change from {current.status} to "
                             f"{fields.status}: create a new Slot instead.",
                        expression="Slot.status")
    schedule = _provider_schedule(client, fields)
    exception = current.exception
    if (schedule.provider_id != exception.provider_id
            or exception.location_id not in (None, schedule.location_id)):
        raise FhirError(400, f"Slot/{resource_id} lies on Schedule/{current.schedule.id}; it "
                             "cannot move to another schedule.", expression="Slot.schedule")
    try:
        changes = calendars.update_exception(exception=exception, starts_at=fields.start,
                                             ends_at=fields.end, label=fields.comment)
    except calendars.CalendarInputError as error:
        raise mapping.refused_fields(error) from None
    audit_access(audit.Action.FHIR_UPDATE, client, "Slot", object_id=exception.id,
                 detail={"slot": resource_id, "fields": changes})
    db.session.commit()
    return served(TimeOnSchedule(schedule, fields.status, exception.starts_at,
                                 exception.ends_at, exception=exception))


HANDLER = ResourceHandler(
    resource_type="Slot",
    documentation=(
        "Computed, not stored. Ids: <schedule>.<type>.<YYYYMMDDHHMM UTC> open time for an "
        "appointment type (read only while still free, else 404); a<id> time held by an "
        "appointment (busy; never says whose); x<id> time off (busy-unavailable) or extra "
        "hours (free). Search free slots per schedule; without schedule, busy and "
        "busy-unavailable slots only. Open slots carry a booking-deep-link extension to the "
        "patient self-scheduling pages. Create/update: busy-unavailable adds time off, free "
        "adds extra hours, on a provider's schedule (comment = label); busy time comes from "
        "Appointments. Open and appointment slots cannot be updated."),
    search_params=SEARCH_PARAMS,
    read=read, search=search, create=create, update=update,
)
