"""What other domains ask of the schedule about one patient: their upcoming appointments
(reminders, the patient panel), their last completed visit (recall) and the zone of the place
they visit (messaging's quiet hours).

The first two read a patient's data, so each appends an audit event (counts and ids only);
the zone is a location's, not the patient's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.core.clock import utcnow
from app.extensions import db
from app.practice.models import Location
from app.scheduling.models import Appointment, AppointmentStatus
from app.security import audit

# Agreed with the patient and not over yet; "proposed" (an offer nobody has taken) is not.
UPCOMING_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.BOOKED,
                     AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN)


def upcoming_appointments(*, patient_id: int, now: datetime | None = None,
                          limit: int | None = None) -> list[Appointment]:
    """The patient's appointments starting at or after ``now``, soonest first, with their
    provider, location and type loaded."""
    query = (select(Appointment)
             .options(joinedload(Appointment.provider), joinedload(Appointment.location),
                      joinedload(Appointment.appointment_type))
             .where(Appointment.patient_id == patient_id,
                    Appointment.start_at >= (now or utcnow()),
                    Appointment.status.in_([str(status) for status in UPCOMING_STATUSES]))
             .order_by(Appointment.start_at, Appointment.id)
             .limit(limit))
    appointments = list(db.session.execute(query).scalars())
    audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=patient_id, object_type="patient",
                 object_id=patient_id, detail={"query": "upcoming", "count": len(appointments)})
    return appointments


def last_fulfilled_visit(*, patient_id: int, appointment_type_id: int | None = None
                         ) -> Appointment | None:
    """The patient's most recent fulfilled appointment (of this type, when given)."""
    query = (select(Appointment)
             .options(joinedload(Appointment.provider), joinedload(Appointment.location),
                      joinedload(Appointment.appointment_type))
             .where(Appointment.patient_id == patient_id,
                    Appointment.status == str(AppointmentStatus.FULFILLED))
             .order_by(Appointment.start_at.desc(), Appointment.id.desc())
             .limit(1))
    if appointment_type_id is not None:
        query = query.where(Appointment.appointment_type_id == appointment_type_id)
    visit = db.session.execute(query).scalars().first()
    audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=patient_id,
                 object_type="appointment" if visit else "patient",
                 object_id=visit.id if visit else patient_id,
                 detail={"query": "last_fulfilled", "found": visit is not None})
    return visit


def visit_zone(patient_id: int) -> str | None:
    """The zone of the location the patient visits: their next appointment's, else their
    latest's; None without appointments. Messaging asks it (``register_visit_zone``)."""
    visits = (select(Location.timezone).join(Appointment, Appointment.location_id == Location.id)
              .where(Appointment.patient_id == patient_id))
    zone = db.session.execute(visits.where(Appointment.start_at >= utcnow())
                              .order_by(Appointment.start_at).limit(1)).scalar_one_or_none()
    if zone is None:
        zone = db.session.execute(visits.order_by(Appointment.start_at.desc())
                                  .limit(1)).scalar_one_or_none()
    return zone
