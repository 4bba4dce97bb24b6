"""FHIR Schedule: provider and location calendars, through the schedules service."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from sqlalchemy import false, or_, select

from app.core.ids import split_reference
from app.extensions import db
from app.fhir.auth import ApiClient
from app.fhir.errors import FhirError
from app.fhir.mapping import schedule as mapping
from app.fhir.mapping.codes import APPOINTMENT_TYPE_SYSTEM
from app.fhir.search import (
    SearchParam,
    SearchRequest,
    parse_ids,
    parse_reference,
    parse_token,
    slice_page,
)
from app.fhir.toolkit import (
    Found,
    HashVersioned,
    ResourceHandler,
    audit_access,
    content_version,
    validated,
)
from app.scheduling import schedules
from app.scheduling.models import Schedule
from app.security import audit

SEARCH_PARAMS = (
    SearchParam("_id", "token", "Logical id; several may be given separated by commas."),
    SearchParam("actor", "reference", "Practitioner/<id> or Location/<id> whose calendar it "
                                      "is (a Location also finds its providers' calendars)."),
    SearchParam("active", "token", "true or false (anything else matches nothing)."),
    SearchParam("service-type", "token", "An appointment type offered, "
                                         f"{APPOINTMENT_TYPE_SYSTEM}|<id> or <id>."),
)


def served(schedule: Schedule, offered: dict[int, list[Any]] | None = None) -> FhirSchedule:
    types = (offered or schedules.offered_types([schedule]))[schedule.id]
    resource = mapping.to_fhir(schedule, types)
    return resource.model_copy(update={"meta": Meta(versionId=content_version(resource))})


def search(*, client: ApiClient, request: SearchRequest) -> Found:
    conditions: list[Any] = [Schedule.practice_id == client.practice_id]
    if (ids := request.one("_id")) is not None:
        conditions.append(Schedule.id.in_(parse_ids(ids)))
    if (actor := request.one("actor")) is not None:
        conditions.append(_actor_condition(actor))
    if (active := request.one("active")) is not None:
        conditions.append(Schedule.active.is_(True) if active == "true"
                          else Schedule.active.is_(False) if active == "false" else false())
    rows = list(db.session.execute(select(Schedule).where(*conditions).order_by(Schedule.id))
                .scalars())
    offered = schedules.offered_types(rows)
    if (value := request.one("service-type")) is not None:
        system, code = parse_token(value)
        rows = [row for row in rows if system in (None, APPOINTMENT_TYPE_SYSTEM)
                and code in {str(kind.id) for kind in offered[row.id]}]
    page = slice_page(rows, request)
    audit_access(audit.Action.FHIR_SEARCH, client, "Schedule",
                 detail={"params": sorted(request.params), "results": page.total})
    found = Found([served(row, offered) for row in page.rows], page.total)
    db.session.commit()  # after building: a commit expires the rows
    return found


def _actor_condition(value: str) -> Any:
    """``Practitioner/<id>``, ``Location/<id>``, or a bare id, which may be either."""
    kind, _ = split_reference(value)
    if kind == "Practitioner":
        provider_id = parse_reference("actor", value, "Practitioner")
        return Schedule.provider_id == provider_id if provider_id else false()
    if kind == "Location":
        location_id = parse_reference("actor", value, "Location")
        return Schedule.location_id == location_id if location_id else false()
    if kind:
        raise FhirError(400, f"'actor' must reference a Practitioner or a Location, like "
                             f"Practitioner/1, not {value!r}.", expression="actor")
    ids = parse_ids(value)
    return or_(Schedule.provider_id == ids[0], Schedule.location_id == ids[0]) if len(
        ids) == 1 else false()


def create(*, client: ApiClient, body: Any) -> FhirSchedule:
    resource = validated(FhirSchedule, body)
    values, sources = mapping.from_fhir(resource)
    try:
        schedule = schedules.create_schedule(practice_id=client.practice_id, values=values)
    except schedules.ScheduleInputError as error:
        raise mapping.refused_fields(error, sources) from None
    except schedules.ScheduleExists as error:
        raise FhirError(409, f"{error}.", expression="Schedule.actor", code="duplicate") from None
    audit_access(audit.Action.FHIR_CREATE, client, "Schedule", object_id=schedule.id)
    db.session.commit()
    return served(schedule)


def _apply(schedule: Schedule, resource: FhirSchedule) -> list[str]:
    values, sources = mapping.from_fhir(resource)
    try:
        return schedules.update_schedule(schedule=schedule, values=values)
    except schedules.ScheduleInputError as error:
        raise mapping.refused_fields(error, sources) from None


_RECORD = HashVersioned("Schedule", Schedule, FhirSchedule, served, _apply,
                        lock_for_update=True)

HANDLER = ResourceHandler(
    resource_type="Schedule",
    documentation=(
        "A provider's calendar at a location (actor: Practitioner and Location), or a whole "
        "location's (actor: Location only; its free slots are any provider's). Each provider "
        "gets one with their first working hours; a second for the same actors is a 409. "
        "serviceType lists the appointment types offered (system "
        f"{APPOINTMENT_TYPE_SYSTEM}), set in Frontdesk: codings of that system are ignored on "
        "input; other codings, identifier, serviceCategory and specialty are kept as given. "
        "The actors cannot change on update. active=false withdraws the calendar's slots. "
        "Free slots are offered only within planningHorizon when it is set. versionId is a "
        "hash of the served content."),
    search_params=SEARCH_PARAMS,
    read=_RECORD.read, search=search, create=create, update=_RECORD.update,
)
