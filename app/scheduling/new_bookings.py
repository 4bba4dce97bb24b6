"""The desk's "new bookings" list: visits patients booked themselves (online at ``/book``, or
by taking a waitlist offer) in the last ``DAYS`` days that this staff member has not marked
seen. Seen is per staff member (``AppointmentSeen``): each person at the desk works through
the list once."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.core.clock import utcnow
from app.core.db import insert_unless_exists
from app.extensions import db
from app.scheduling.models import Appointment, AppointmentSeen, WaitlistEntry
from app.security import audit

DAYS = 14
ONLINE, WAITLIST = "online", "waitlist"


@dataclass(frozen=True)
class NewBooking:
    appointment: Appointment
    starts: datetime  # the visit, in its location's zone
    booked_at: datetime  # when it was booked, in the same zone
    via: str  # ONLINE | WAITLIST


def _unseen(practice_id: int, staff_id: int, now: datetime) -> tuple[Any, ...]:
    """The conditions naming the visits still on the staff member's list."""
    seen = select(AppointmentSeen.appointment_id).where(AppointmentSeen.staff_id == staff_id)
    return (Appointment.practice_id == practice_id, Appointment.source == "patient",
            Appointment.created_at >= now - timedelta(days=DAYS), Appointment.id.not_in(seen))


def unseen(*, practice_id: int, staff_id: int, now: datetime | None = None
           ) -> list[NewBooking]:
    """The visits still to look at, newest booking first; the read is audited."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Appointment, WaitlistEntry.id)
        .outerjoin(WaitlistEntry, WaitlistEntry.booked_appointment_id == Appointment.id)
        .where(*_unseen(practice_id, staff_id, now))
        .order_by(Appointment.created_at.desc(), Appointment.id.desc())).all()
    found = []
    for appointment, entry_id in rows:
        zone = ZoneInfo(appointment.location.timezone)
        found.append(NewBooking(appointment, appointment.start_at.astimezone(zone),
                                appointment.created_at.astimezone(zone),
                                WAITLIST if entry_id is not None else ONLINE))
    audit.record(audit.Action.APPOINTMENT_VIEW, object_type="new_bookings",
                 detail={"query": "new_bookings", "count": len(found),
                         "patient_ids": sorted({b.appointment.patient_id for b in found})})
    db.session.commit()
    return found


def count_unseen(*, practice_id: int, staff_id: int, now: datetime | None = None) -> int:
    """How many are still to look at (a count: nothing to audit)."""
    return db.session.execute(select(func.count(Appointment.id)).where(
        *_unseen(practice_id, staff_id, now or utcnow()))).scalar_one()


def mark_seen(*, practice_id: int, staff_id: int, appointment_ids: Collection[int] | None,
              now: datetime | None = None) -> int:
    """Mark these visits (None: every one still listed) seen by the staff member; ids not on
    the list are ignored. Returns how many were marked; commits."""
    now = now or utcnow()
    listed = select(Appointment.id).where(*_unseen(practice_id, staff_id, now))
    if appointment_ids is not None:
        listed = listed.where(Appointment.id.in_(set(appointment_ids)))
    marked = 0
    for appointment_id in db.session.execute(listed).scalars().all():
        marked += insert_unless_exists(AppointmentSeen, {
            "practice_id": practice_id, "appointment_id": appointment_id,
            "staff_id": staff_id, "seen_at": now},
            unique_on=["appointment_id", "staff_id"]) is not None
    db.session.commit()
    return marked
