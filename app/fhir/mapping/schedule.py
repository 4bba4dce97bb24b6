"""Schedule ↔ FHIR Schedule.

``actor`` is ``[Practitioner/<provider>, Location/<location>]`` (no Practitioner for a whole
location's calendar): on input exactly one Location of ours and at most one Practitioner of
ours. ``serviceType`` on output is the appointment types the schedule offers (set in
Frontdesk: on input, codings of our system are ignored), followed by the other codings the
client sent; those, ``identifier``, ``serviceCategory`` and ``specialty`` are kept as given and
not interpreted. ``active``, ``planningHorizon`` and ``comment`` are kept.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fhir.resources.R4B.schedule import Schedule as FhirSchedule

from app.core.ids import row_id, split_reference
from app.fhir.errors import InvalidResource
from app.fhir.mapping import instant_text, kept_instant, refused
from app.fhir.mapping.codes import APPOINTMENT_TYPE_SYSTEM, appointment_type_concept
from app.scheduling.models import AppointmentType, Schedule
from app.scheduling.schedules import ScheduleFields, ScheduleInputError

_DESCRIPTIVE = ("identifier", "serviceCategory", "serviceType", "specialty")
_SOURCES = {"comment": "Schedule.comment", "horizon_end": "Schedule.planningHorizon.end",
            "descriptive": "Schedule", "actor": "Schedule.actor"}


def to_fhir(schedule: Schedule, offered: list[AppointmentType]) -> FhirSchedule:
    descriptive: dict[str, Any] = json.loads(schedule.descriptive or "{}")
    actor = []
    if schedule.provider is not None:
        actor.append({"reference": f"Practitioner/{schedule.provider_id}",
                      "display": schedule.provider.display_name})
    actor.append({"reference": f"Location/{schedule.location_id}",
                  "display": schedule.location.name})
    service_types = [appointment_type_concept(kind.id, kind.name) for kind in offered]
    horizon = {name: instant_text(value) for name, value in
               (("start", schedule.horizon_start), ("end", schedule.horizon_end)) if value}
    return FhirSchedule.model_validate({
        "resourceType": "Schedule", "id": str(schedule.id), "active": schedule.active,
        "identifier": descriptive.get("identifier"),
        "serviceCategory": descriptive.get("serviceCategory"),
        "serviceType": service_types + descriptive.get("serviceType", []) or None,
        "specialty": descriptive.get("specialty"),
        "actor": actor,
        "planningHorizon": horizon or None,
        "comment": schedule.comment,
    })


def from_fhir(resource: FhirSchedule) -> tuple[ScheduleFields, dict[str, str]]:
    """The fields for the schedules service, and which element each came from."""
    location_id, provider_id, actor_sources = _actors(resource)
    horizon = resource.planningHorizon
    values = ScheduleFields(
        location_id=location_id, provider_id=provider_id,
        active=resource.active is not False,
        comment=" ".join(resource.comment.split()) if resource.comment else None,
        horizon_start=_instant(horizon.start if horizon else None, "start"),
        horizon_end=_instant(horizon.end if horizon else None, "end"),
        descriptive=_descriptive(resource),
    )
    return values, {**_SOURCES, **actor_sources}


def _instant(value: object, name: str) -> datetime | None:
    """A planning horizon bound: a dateTime with a time zone, kept in UTC."""
    if value is None:
        return None
    path = f"Schedule.planningHorizon.{name}"
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return kept_instant(value, path)
    raise InvalidResource([(path, f"{path} must be a date and time with a time zone, "
                                  f"like 2026-01-05T09:00:00Z")])


def refused_fields(error: ScheduleInputError, sources: dict[str, str]) -> InvalidResource:
    """The service's field errors, named by the elements the client sent."""
    return refused("Schedule", error.errors, sources)


def _actors(resource: FhirSchedule) -> tuple[int, int | None, dict[str, str]]:
    """The location and provider ids the actors name, and which element named each."""
    found: dict[str, list[tuple[int, str]]] = {"Location": [], "Practitioner": []}
    problems = []
    for index, actor in enumerate(resource.actor or []):
        path = f"Schedule.actor[{index}].reference"
        kind, ref_id = split_reference(actor.reference or "")
        if kind not in found:
            problems.append((path, f"{path}: an actor must be a Location or a Practitioner "
                                   "of this practice, referenced like Location/1"))
        elif (local_id := row_id(ref_id)) is not None:
            found[kind].append((local_id, path))
        else:
            problems.append((path, f"{path}: {kind}/{ref_id} is not known"))
    if len(found["Location"]) != 1:
        problems.append(("Schedule.actor", "Schedule.actor must name exactly one Location "
                                           "(the office whose calendar this is)"))
    if len(found["Practitioner"]) > 1:
        problems.append(("Schedule.actor", "Schedule.actor may name at most one Practitioner "
                                           "(none: the whole location's calendar)"))
    if problems:
        raise InvalidResource(problems)
    (location_id, location_path), = found["Location"]
    sources = {"location_id": location_path}
    provider_id = None
    if found["Practitioner"]:
        (provider_id, sources["provider_id"]), = found["Practitioner"]
    return location_id, provider_id, sources


def _descriptive(resource: FhirSchedule) -> str | None:
    kept: dict[str, Any] = {}
    for name in _DESCRIPTIVE:
        values = [item.model_dump(mode="json", exclude_none=True)
                  for item in getattr(resource, name) or []]
        if name == "serviceType":
            values = [concept for concept in map(_without_our_codings, values) if concept]
        if values:
            kept[name] = values
    return json.dumps(kept, sort_keys=True) if kept else None


def _without_our_codings(concept: dict[str, Any]) -> dict[str, Any]:
    """A concept minus our appointment-type codings; empty when nothing else remains."""
    if not any(c.get("system") == APPOINTMENT_TYPE_SYSTEM for c in concept.get("coding", [])):
        return concept
    others = [c for c in concept["coding"] if c.get("system") != APPOINTMENT_TYPE_SYSTEM]
    return {**concept, "coding": others} if others else {}
