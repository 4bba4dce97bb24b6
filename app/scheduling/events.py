"""What the booking service tells other domains (journeys, waitlist, EHR push).

Published with ``app.core.events.publish`` inside the booking transaction, so a subscriber's
writes commit or roll back with the change. Subscribe to the concrete classes. Each carries
ids, times (UTC) and statuses only: never a name, a note or a reason, which may hold PHI.
``source`` is who made the change (staff, patient, fhir, ehr, system: a job); ``staff_id``
is set when staff did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.scheduling.models import Appointment


@dataclass(frozen=True, kw_only=True)
class AppointmentEvent:
    appointment_id: int
    practice_id: int
    patient_id: int
    provider_id: int
    location_id: int
    appointment_type_id: int
    start_at: datetime
    end_at: datetime
    source: str
    staff_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(AppointmentEvent):
    status: str


@dataclass(frozen=True, kw_only=True)
class AppointmentRescheduled(AppointmentEvent):
    """The appointment moved; the ``old_*`` fields say where from (the time it freed)."""

    old_start_at: datetime
    old_end_at: datetime
    old_provider_id: int
    old_location_id: int
    old_appointment_type_id: int


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(AppointmentEvent):
    """The appointment's time (``start_at``-``end_at`` with its provider) is free again.
    ``by_practice``: the practice cancelled it (not the patient asking), so the patient is
    owed an apology."""

    old_status: str
    by_practice: bool = False


@dataclass(frozen=True, kw_only=True)
class AppointmentStatusChanged(AppointmentEvent):
    """Any status change other than booking and cancelling: check-in, check-out, no-show,
    entered-in-error, a proposal accepted."""

    old_status: str
    new_status: str


@dataclass(frozen=True, kw_only=True)
class PatientResponded(AppointmentEvent):
    """The patient's own answer (FHIR participant status) changed; ``declined`` does not
    cancel the appointment, staff or the journey decide what follows."""

    old_response: str
    new_response: str


def facts(appointment: Appointment, *, source: str, staff_id: int | None) -> dict[str, Any]:
    """The ``AppointmentEvent`` fields for ``appointment`` as it is now."""
    return {"appointment_id": appointment.id, "practice_id": appointment.practice_id,
            "patient_id": appointment.patient_id, "provider_id": appointment.provider_id,
            "location_id": appointment.location_id,
            "appointment_type_id": appointment.appointment_type_id,
            "start_at": appointment.start_at, "end_at": appointment.end_at, "source": source,
            "staff_id": staff_id}
