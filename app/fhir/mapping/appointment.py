"""Appointment ↔ FHIR Appointment.

What we keep of a posted Appointment (everything else, such as description, priority,
specialty or reasonReference, is accepted and not stored):

* ``participant``: exactly one ``Patient/<id>`` and one ``Practitioner/<id>``, and at most one
  ``Location/<id>`` (needed unless the practitioner works at one location only). The patient
  participant's ``status`` is the patient's own answer; the others are served as accepted.
  Any other participant is refused: we could not tell anyone it is expected.
* The appointment type: a coding of system ``urn:frontdesk:appointment-type`` in
  ``appointmentType`` or ``serviceType``, or the type of a free ``slot``
  (``Slot/<schedule>.<type>.<YYYYMMDDHHMM>``).
* ``start`` (or the free slot's start), ``end`` (start + the type's duration; derived when
  absent), ``minutesDuration`` (must agree), ``status``, ``comment`` (our encrypted note) and,
  when cancelling, ``cancelationReason`` (its text, else its first coding's display or code;
  read only when the status becomes cancelled).

Served: those, plus ``created``, ``serviceType`` = ``appointmentType`` = our type, display
names on the participants, and ``slot`` = ``Slot/a<id>`` (the busy slot this appointment
holds) while the appointment holds time. ``meta.versionId`` is ``updated_at`` in microseconds
since the Unix epoch, as for Patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from app.core.ids import row_id, split_reference
from app.core.types import EARLIEST, LATEST, utc_in_range
from app.fhir.errors import InvalidResource
from app.fhir.mapping import instant_text
from app.fhir.mapping.codes import (
    FreeSlotId,
    StoredSlotId,
    appointment_slot_id,
    appointment_type_concept,
    appointment_type_ids,
    parse_slot_id,
)
from app.scheduling.models import Appointment, ParticipantStatus
from app.scheduling.slots import HOLDING_STATUSES

KEPT_ACTORS = ("Patient", "Practitioner", "Location")
PARTICIPANT_STATUSES = tuple(str(status) for status in ParticipantStatus)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version(appointment: Appointment) -> str:
    return str((appointment.updated_at - _EPOCH) // timedelta(microseconds=1))


def to_fhir(appointment: Appointment) -> FhirAppointment:
    kind = appointment.appointment_type
    concept = appointment_type_concept(kind.id, kind.name)
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": {"versionId": version(appointment),
                 "lastUpdated": appointment.updated_at.isoformat()},
        "status": appointment.status,
        "serviceType": [concept],
        "appointmentType": concept,
        "start": appointment.start_at.astimezone(UTC),
        "end": appointment.end_at.astimezone(UTC),
        "minutesDuration": (appointment.end_at - appointment.start_at) // timedelta(minutes=1),
        "created": appointment.created_at.astimezone(UTC),
        "participant": [
            _participant("Patient", appointment.patient_id, appointment.patient.full_name,
                         appointment.patient_status),
            _participant("Practitioner", appointment.provider_id,
                         appointment.provider.display_name, ParticipantStatus.ACCEPTED),
            _participant("Location", appointment.location_id, appointment.location.name,
                         ParticipantStatus.ACCEPTED),
        ],
    }
    if appointment.status in HOLDING_STATUSES:
        data["slot"] = [{"reference": f"Slot/{appointment_slot_id(appointment.id)}"}]
    if appointment.note:
        data["comment"] = appointment.note
    if appointment.cancel_reason:
        data["cancelationReason"] = {"text": appointment.cancel_reason}
    return FhirAppointment.model_validate(data)


def _participant(kind: str, row_id: int, display: str, status: str) -> dict[str, Any]:
    return {"actor": {"reference": f"{kind}/{row_id}", "display": display},
            "required": "required", "status": str(status)}


@dataclass(frozen=True)
class Actor:
    """A participant's ``<kind>/<id>``; ``row_id`` None when the id cannot be ours."""

    kind: str
    row_id: int | None
    reference: str
    expression: str  # Appointment.participant[i].actor


@dataclass(frozen=True)
class AppointmentFields:
    """What a posted Appointment asks for, before it is checked against our records."""

    status: str
    patient: Actor
    patient_status: str
    patient_status_expression: str
    practitioner: Actor | None
    location: Actor | None
    type_id: int | None
    type_expression: str  # where the type came from (for errors about it)
    free_slot: FreeSlotId | None
    start: datetime
    end: datetime | None
    minutes: int | None
    comment: str | None
    cancel_reason: str | None


def from_fhir(resource: FhirAppointment, *, appointment_id: int | None = None
              ) -> AppointmentFields:
    """The fields of a validated resource. ``appointment_id`` is the appointment being
    updated: its own busy slot (``Slot/a<id>``) may be named. Raises InvalidResource naming
    each element we cannot take."""
    problems: list[tuple[str, str]] = []
    actors = _actors(resource, problems)
    patients = [(actor, status) for actor, status in actors if actor.kind == "Patient"]
    others = {kind: [actor for actor, _ in actors if actor.kind == kind]
              for kind in ("Practitioner", "Location")}
    if len(patients) != 1:
        problems.append(("Appointment.participant", "Appointment.participant: exactly one "
                         f"Patient participant is needed, not {len(patients)}"))
    elif patients[0][1] not in PARTICIPANT_STATUSES:
        expression = _status_expression(patients[0][0])
        problems.append((expression, f"{expression}: must be one of "
                         f"{', '.join(PARTICIPANT_STATUSES)}"))
    for kind, found in others.items():
        for extra in found[1:]:
            problems.append((extra.expression, f"{extra.expression}: only one {kind} "
                             "participant can be kept"))
    free_slot = _free_slot(resource, appointment_id, problems)
    type_id, type_expression = _type(resource, free_slot, problems)
    start = resource.start or (free_slot.start if free_slot else None)
    if start is None:
        problems.append(("Appointment.start", "Appointment.start: required (or name a free "
                         "Slot in Appointment.slot)"))
    elif utc_in_range(start) is None:
        problems.append(("Appointment.start", f"Appointment.start: must lie between "
                         f"{EARLIEST.year} and {LATEST.year - 1}"))
    elif free_slot is not None and start != free_slot.start:
        problems.append(("Appointment.start", "Appointment.start: must be the start of the "
                         f"slot named, {instant_text(free_slot.start)}"))
    if problems:
        raise InvalidResource(problems)
    assert start is not None
    patient, patient_status = patients[0]
    return AppointmentFields(
        status=resource.status, patient=patient, patient_status=patient_status,
        patient_status_expression=_status_expression(patient),
        practitioner=next(iter(others["Practitioner"]), None),
        location=next(iter(others["Location"]), None),
        type_id=type_id, type_expression=type_expression, free_slot=free_slot, start=start,
        end=resource.end, minutes=resource.minutesDuration, comment=resource.comment,
        cancel_reason=_reason_text(resource))


def _status_expression(actor: Actor) -> str:
    return actor.expression.removesuffix(".actor") + ".status"


def _actors(resource: FhirAppointment, problems: list[tuple[str, str]]
            ) -> list[tuple[Actor, str]]:
    found: list[tuple[Actor, str]] = []
    for index, participant in enumerate(resource.participant or []):
        expression = f"Appointment.participant[{index}].actor"
        reference = (participant.actor.reference or "") if participant.actor else ""
        kind, ref_id = split_reference(reference)
        if kind not in KEPT_ACTORS:
            problems.append((expression, f"{expression}: each participant must reference a "
                             "Patient, Practitioner or Location of ours" + (
                                 f", not {reference!r}" if reference else
                                 " (this one has no reference)")))
            continue
        found.append((Actor(kind, row_id(ref_id), reference, expression),
                      participant.status))
    return found


def _free_slot(resource: FhirAppointment, appointment_id: int | None,
               problems: list[tuple[str, str]]) -> FreeSlotId | None:
    chosen: FreeSlotId | None = None
    for index, slot in enumerate(resource.slot or []):
        expression = f"Appointment.slot[{index}]"
        kind, slot_id = split_reference(slot.reference or "")
        named = parse_slot_id(slot_id) if kind == "Slot" else None
        if named == StoredSlotId("appointment", appointment_id or 0):
            continue  # the appointment's own time, as we serve it
        if not isinstance(named, FreeSlotId):
            problems.append((expression, f"{expression}: must be a free Slot of ours "
                             f"(Slot/<schedule>.<type>.<YYYYMMDDHHMM>), not "
                             f"{slot.reference!r}"))
        elif chosen is not None:
            problems.append((expression, f"{expression}: an appointment fills one slot"))
        else:
            chosen = named
    return chosen


def _type(resource: FhirAppointment, free_slot: FreeSlotId | None,
          problems: list[tuple[str, str]]) -> tuple[int | None, str]:
    """Our appointment type named in the resource, and the element that named it."""
    named = [("Appointment.appointmentType", type_id) for type_id in
             appointment_type_ids([resource.appointmentType] if resource.appointmentType
                                  else [])]
    for index, concept in enumerate(resource.serviceType or []):
        named += [(f"Appointment.serviceType[{index}]", type_id)
                  for type_id in appointment_type_ids([concept])]
    if free_slot is not None:
        named.append(("Appointment.slot", free_slot.appointment_type_id))
    if not named:
        return None, "Appointment.appointmentType"
    expression, type_id = named[0]
    for other_expression, other_id in named[1:]:
        if other_id != type_id:
            problems.append((other_expression, f"{other_expression}: names appointment type "
                             f"{other_id}, but {expression} names {type_id}"))
    return type_id, expression


def _reason_text(resource: FhirAppointment) -> str | None:
    reason = resource.cancelationReason
    if reason is None:
        return None
    codings = reason.coding or []
    return reason.text or next((c.display or c.code for c in codings if c.display or c.code),
                               None)
