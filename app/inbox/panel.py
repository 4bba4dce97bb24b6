"""The patient panel beside a thread: each linked patient's upcoming and recent visits (with
quick actions: confirm, cancel), and consent per channel. Billing and intake fill their own
slots in the panel (templates/inbox/_panel.html names them); this module knows nothing of
them.

Also the small lists the inbox screens offer: locations (a filter) and assignable staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.core.clock import utcnow
from app.extensions import db
from app.inbox.threads import Thread, get_conversation, linked_patients
from app.messaging.consent_panel import ConsentOverview, consent_overview
from app.practice.models import Location
from app.scheduling import booking
from app.scheduling.models import Appointment
from app.scheduling.queries import UPCOMING_STATUSES, upcoming_appointments
from app.security import audit
from app.security.models import StaffUser

SHOWN_VISITS = 3


@dataclass(frozen=True)
class Visit:
    id: int
    at: datetime  # in the location's zone
    type_name: str
    provider: str
    location: str
    status: str
    patient_status: str
    upcoming: bool


@dataclass(frozen=True)
class PatientPanel:
    patient_id: int
    name: str
    date_of_birth: object
    upcoming: list[Visit]
    recent: list[Visit]
    consent: ConsentOverview


def _visit(appointment: Appointment, upcoming: bool) -> Visit:
    return Visit(id=appointment.id,
                 at=appointment.start_at.astimezone(ZoneInfo(appointment.location.timezone)),
                 type_name=appointment.appointment_type.name,
                 provider=appointment.provider.display_name,
                 location=appointment.location.name, status=appointment.status,
                 patient_status=appointment.patient_status, upcoming=upcoming)


def side_panel(*, practice_id: int, thread: Thread) -> list[PatientPanel]:
    """The panel for every patient the thread shows; audited (visits, consent) and committed."""
    panels = []
    now = utcnow()
    for patient in thread.patients:
        upcoming = upcoming_appointments(patient_id=patient.id, now=now, limit=SHOWN_VISITS)
        recent = list(db.session.execute(
            select(Appointment).options(joinedload(Appointment.provider),
                                        joinedload(Appointment.location),
                                        joinedload(Appointment.appointment_type))
            .where(Appointment.patient_id == patient.id, Appointment.start_at < now)
            .order_by(Appointment.start_at.desc()).limit(SHOWN_VISITS)).scalars())
        audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=patient.id,
                     object_type="patient", object_id=patient.id,
                     detail={"query": "inbox_recent", "count": len(recent)})
        panels.append(PatientPanel(
            patient_id=patient.id, name=patient.name, date_of_birth=patient.date_of_birth,
            upcoming=[_visit(a, True) for a in upcoming],
            recent=[_visit(a, False) for a in recent],
            consent=consent_overview(practice_id=practice_id, patient_id=patient.id)))
    db.session.commit()
    return panels


class VisitNotInThread(LookupError):
    """The visit is not an upcoming one of the conversation's patients."""


def _upcoming_visit(practice_id: int, conversation_id: int, appointment_id: int) -> None:
    conversation = get_conversation(practice_id, conversation_id)
    appointment = db.session.get(Appointment, appointment_id)
    patient_ids = {p.id for p in linked_patients(conversation.id)}
    if (appointment is None or appointment.patient_id not in patient_ids
            or appointment.status not in [str(s) for s in UPCOMING_STATUSES]):
        raise VisitNotInThread(appointment_id)


def confirm_visit(*, practice_id: int, conversation_id: int, appointment_id: int,
                  staff_id: int) -> None:
    """The patient confirmed in the conversation: their answer is recorded on the visit
    (through the booking service). Only an upcoming visit of the conversation's patients."""
    _upcoming_visit(practice_id, conversation_id, appointment_id)
    booking.set_patient_response(appointment_id=appointment_id, response="accepted",
                                 source="staff", staff_id=staff_id)


def cancel_visit(*, practice_id: int, conversation_id: int, appointment_id: int,
                 staff_id: int, reason: str, notify: bool) -> None:
    """Cancel an upcoming visit of the conversation's patients through the booking service
    (audited there, its time freed, its reminders withdrawn). ``notify``: the practice
    cancels, so the patient gets the journey's apology with a link to book again (the
    appointment page's "the practice cancels"); without it staff answer in the thread."""
    _upcoming_visit(practice_id, conversation_id, appointment_id)
    booking.cancel(appointment_id=appointment_id, reason=reason, source="staff",
                   staff_id=staff_id, by_practice=notify)


def locations(*, practice_id: int) -> list[Location]:
    return list(db.session.execute(select(Location).where(
        Location.practice_id == practice_id).order_by(Location.name)).scalars())


def assignable_staff(*, practice_id: int) -> list[StaffUser]:
    return list(db.session.execute(select(StaffUser).where(
        StaffUser.practice_id == practice_id, StaffUser.active.is_(True))
        .order_by(StaffUser.display_name)).scalars())
