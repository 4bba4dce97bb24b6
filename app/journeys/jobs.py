"""The journeys' scheduler jobs, run once per practice acting for it (``app/jobs/registry``).

* ``plan_upcoming``: plan the reminders of every visit in the next days again (``batch``), so
  a visit that reached the database without a booking event, or a rule changed since, gets
  its messages. Idempotent: what is planned is left alone.
* ``flag_overdue``: a visit still booked some minutes after its start (the practice's
  setting) is marked not arrived for staff, or, if the practice chose it, a no-show (which
  sends "we missed you" through the same event as staff marking it).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.core.tenancy import current_practice_id
from app.extensions import db
from app.journeys.batch import plan_window
from app.journeys.rules import journey_for
from app.scheduling import booking
from app.scheduling.models import Appointment, AppointmentStatus

PLAN_AHEAD = timedelta(days=4)  # longer than the longest default reminder (3 days)
OVERDUE_LOOKBACK = timedelta(days=1)


def plan_upcoming() -> int:
    now = utcnow()
    planned = plan_window(start=now, end=now + PLAN_AHEAD)
    db.session.commit()
    return planned


def flag_overdue() -> int:
    practice_id = current_practice_id()
    if practice_id is None:
        raise RuntimeError("flag_overdue runs acting for a practice")
    journey = journey_for(practice_id, None)
    now = utcnow()
    overdue = list(db.session.execute(
        select(Appointment.id).where(
            Appointment.status == AppointmentStatus.BOOKED, Appointment.overdue_at.is_(None),
            Appointment.start_at <= now - journey.no_show_after,
            Appointment.start_at > now - OVERDUE_LOOKBACK)).scalars())
    for appointment_id in overdue:
        if journey.auto_no_show:
            booking.set_status(appointment_id=appointment_id, status=AppointmentStatus.NOSHOW,
                               source="system")
        appointment = db.session.get(Appointment, appointment_id)
        appointment.overdue_at = now
        db.session.commit()
    return len(overdue)
