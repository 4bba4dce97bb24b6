"""Codes shared by the scheduling resources: our appointment types as a FHIR CodeableConcept,
and the ids of Slots, which are computed rather than stored.

An appointment type is ``{"system": APPOINTMENT_TYPE_SYSTEM, "code": "<id>", "display":
"<name>"}`` in Schedule.serviceType, Slot.serviceType/appointmentType and
Appointment.serviceType/appointmentType.

Slot ids (FHIR ids allow letters, digits, '-' and '.'):
- ``<schedule>.<type>.<YYYYMMDDHHMM>`` — open time computed by the slot engine for that
  schedule, appointment type and UTC start;
- ``a<appointment>`` — the time an appointment holds (status busy);
- ``x<exception>`` — time off (busy-unavailable) or extra hours (free) on a provider's calendar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from app.core.ids import row_id

APPOINTMENT_TYPE_SYSTEM = "urn:frontdesk:appointment-type"

_FREE = re.compile(r"^(\d{1,9})\.(\d{1,9})\.(\d{12})$", re.ASCII)
_STORED = re.compile(r"^([ax])(\d{1,9})$", re.ASCII)


def appointment_type_concept(type_id: int, name: str) -> dict[str, object]:
    return {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": str(type_id),
                        "display": name}], "text": name}


def appointment_type_ids(concepts: list[object] | None) -> list[int]:
    """The ids of our appointment types named in CodeableConcepts (fhir.resources models),
    in order; codings of other systems are left out."""
    found: list[int] = []
    for concept in concepts or []:
        for coding in getattr(concept, "coding", None) or []:
            code = coding.code or ""
            if coding.system == APPOINTMENT_TYPE_SYSTEM and (type_id := row_id(code)):
                found.append(type_id)
    return found


@dataclass(frozen=True)
class FreeSlotId:
    schedule_id: int
    appointment_type_id: int
    start: datetime  # UTC


@dataclass(frozen=True)
class StoredSlotId:
    kind: str  # "appointment" | "exception"
    row_id: int


def free_slot_id(schedule_id: int, appointment_type_id: int, start: datetime) -> str:
    return f"{schedule_id}.{appointment_type_id}.{minute_stamp(start)}"


def minute_stamp(moment: datetime) -> str:
    """``YYYYMMDDHHMM`` in UTC, the year always four digits."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}"


def appointment_slot_id(appointment_id: int) -> str:
    return f"a{appointment_id}"


def exception_slot_id(exception_id: int) -> str:
    return f"x{exception_id}"


def parse_slot_id(slot_id: str) -> FreeSlotId | StoredSlotId | None:
    """What a Slot id names; None when it cannot be one of ours (an unknown id: 404)."""
    if found := _FREE.match(slot_id):
        try:
            start = datetime.strptime(found.group(3), "%Y%m%d%H%M").replace(tzinfo=UTC)
        except ValueError:
            return None
        return FreeSlotId(int(found.group(1)), int(found.group(2)), start)
    if found := _STORED.match(slot_id):
        kind = "appointment" if found.group(1) == "a" else "exception"
        return StoredSlotId(kind, int(found.group(2)))
    return None
