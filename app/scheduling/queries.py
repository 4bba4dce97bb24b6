"""What other domains ask of the schedule about one patient: their upcoming appointments
(reminders, the patient panel), their last completed visit (recall) and the zone of the place
they visit (messaging's quiet hours).

The first two read a patient's data, so each appends an audit event (counts and ids only);
the zone is a location's, not the patient's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
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


def visit_zones(patient_ids: Sequence[int]) -> dict[int, str]:
    """The zone of the location each patient visits: their next appointment's, else their
    latest's; patients without appointments are left out. Messaging asks it for a batch of
    messages in one query (``register_visit_zones``)."""
    now = utcnow()
    upcoming = Appointment.start_at >= now
    rank = func.row_number().over(
        partition_by=Appointment.patient_id,
        order_by=(case((upcoming, 0), else_=1), case((upcoming, Appointment.start_at)),
                  Appointment.start_at.desc())).label("rank")
    ranked = (select(Appointment.patient_id, Location.timezone, rank)
              .join(Location, Appointment.location_id == Location.id)
              .where(Appointment.patient_id.in_(list(patient_ids))).subquery())
    return dict(db.session.execute(
        select(ranked.c.patient_id, ranked.c.timezone).where(ranked.c.rank == 1)).all())
