"""Time on a schedule ↔ FHIR Slot (ids and the type system: ``codes``).

Served: ``schedule``, ``status``, ``start``/``end`` (UTC), for computed open slots the
appointment type as ``serviceType`` and ``appointmentType`` (plus a booking deep link when
patients may book the type online), for exceptions their label as ``comment``. A busy slot
says only that the time is held: never whose appointment it is.

Accepted on create and update: ``schedule``, ``status`` (busy-unavailable: time off; free:
extra hours), ``start``, ``end`` and ``comment`` (the exception's label). Identifiers, codings
and ``overbooked`` are accepted and not kept: an exception has no place for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.slot import Slot as FhirSlot

from app.core.ids import row_id, split_reference
from app.fhir.errors import FhirError, InvalidResource
from app.fhir.mapping import instant_text, kept_instant, refused
from app.fhir.mapping.codes import (
    appointment_slot_id,
    appointment_type_concept,
    exception_slot_id,
    free_slot_id,
)
from app.scheduling.calendars import CalendarInputError
from app.scheduling.schedules import BUSY_UNAVAILABLE, FREE, TimeOnSchedule

BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
_SOURCES = {"starts_at": "Slot.start", "ends_at": "Slot.end", "label": "Slot.comment",
            "location_id": "Slot.schedule", "provider_id": "Slot.schedule"}


def slot_id(item: TimeOnSchedule) -> str:
    if item.appointment is not None:
        return appointment_slot_id(item.appointment.id)
    if item.exception is not None:
        return exception_slot_id(item.exception.id)
    assert item.appointment_type is not None
    return free_slot_id(item.schedule.id, item.appointment_type.id, item.start)


def to_fhir(item: TimeOnSchedule, *, booking_link: str | None = None) -> FhirSlot:
    return FhirSlot.model_validate(to_json(item, booking_link=booking_link))


def to_json(item: TimeOnSchedule, *, booking_link: str | None = None) -> dict[str, Any]:
    """The Slot as JSON, its elements in the order of the R4B definition (as fhir.resources
    writes them), with no model built: what ``to_fhir`` validates and serves, field for field
    (tests/fhir/test_slot.py compares the two)."""
    body: dict[str, Any] = {"resourceType": "Slot", "id": slot_id(item)}
    if booking_link:
        body["extension"] = [{"url": BOOKING_DEEP_LINK, "valueUrl": booking_link}]
    if item.appointment_type is not None:
        concept = appointment_type_concept(item.appointment_type.id, item.appointment_type.name)
        body.update(serviceType=[concept], appointmentType=concept)
    body.update({"schedule": {"reference": f"Schedule/{item.schedule.id}"},
                 "status": item.status, "start": instant_text(item.start),
                 "end": instant_text(item.end)})
    if item.exception is not None and item.exception.label:
        body["comment"] = item.exception.label
    return body


@dataclass(frozen=True)
class SlotFields:
    schedule_id: int | None  # None: not a reference to one of our schedules
    status: str  # FREE | BUSY_UNAVAILABLE
    start: datetime
    end: datetime
    comment: str | None


def from_fhir(resource: FhirSlot) -> SlotFields:
    status = resource.status
    if status in ("busy", "busy-tentative"):
        raise FhirError(400, f"Slot.status {status!r} cannot be posted: busy time comes from "
                             "appointments (POST an Appointment); blocked time is "
                             "busy-unavailable.", expression="Slot.status")
    if status not in (FREE, BUSY_UNAVAILABLE):
        raise FhirError(400, f"Slot.status must be busy-unavailable (time off) or free (extra "
                             f"hours), not {status!r}.", expression="Slot.status")
    kind, ref_id = split_reference(resource.schedule.reference or "")
    return SlotFields(schedule_id=row_id(ref_id) if kind == "Schedule" else None, status=status,
                      start=_kept(resource.start, "Slot.start"),
                      end=_kept(resource.end, "Slot.end"), comment=resource.comment)


def _kept(moment: datetime, path: str) -> datetime:
    """A naive time is left for the calendar service to refuse; an aware one must lie in the
    years we keep."""
    if moment.utcoffset() is None:
        return moment
    return kept_instant(moment, path)


def refused_fields(error: CalendarInputError) -> InvalidResource:
    """The calendar's field errors, named by the Slot elements they came from."""
    return refused("Slot", error.errors, _SOURCES)
