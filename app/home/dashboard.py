"""The practice home page's numbers: counts only, no patient detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.core import phones
from app.core.clock import utcnow
from app.extensions import db
from app.inbox import queries as inbox_queries
from app.messaging.models import Conversation
from app.patients.models import Patient
from app.practice.models import Practice, Provider
from app.scheduling.models import Appointment, AppointmentStatus


@dataclass(frozen=True)
class LocationRow:
    name: str
    address: str
    phone: str
    timezone: str
    local_now: datetime


@dataclass(frozen=True)
class PracticeSummary:
    practice: Practice
    locations: list[LocationRow]
    patient_count: int
    provider_count: int
    appointments_today: int
    unread_conversations: int


def practice_summary(*, practice_id: int, staff_id: int | None = None) -> PracticeSummary:
    """The home page's numbers for the signed-in staff member's practice. Unread
    conversations: open ones unread for ``staff_id`` (what the inbox's unread list shows),
    or, without one, those nobody has opened yet."""
    practice = db.session.get_one(Practice, practice_id)
    now = utcnow()
    tz = ZoneInfo(practice.timezone)
    local_midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    count = lambda stmt: db.session.execute(stmt).scalar_one()  # noqa: E731
    return PracticeSummary(
        practice=practice,
        locations=[
            LocationRow(
                name=loc.name,
                address=f"{loc.address_line}, {loc.city}, {loc.state} {loc.postal_code}",
                phone=phones.display(loc.phone),
                timezone=loc.timezone,
                local_now=now.astimezone(ZoneInfo(loc.timezone)),
            )
            for loc in practice.locations
        ],
        patient_count=count(select(func.count(Patient.id))
                            .where(Patient.practice_id == practice.id)),
        provider_count=count(select(func.count(Provider.id))
                             .where(Provider.practice_id == practice.id, Provider.active)),
        appointments_today=count(
            select(func.count(Appointment.id)).where(
                Appointment.practice_id == practice.id,
                Appointment.start_at >= local_midnight,
                Appointment.start_at < local_midnight + timedelta(days=1),
                Appointment.status != AppointmentStatus.CANCELLED,
            )),
        unread_conversations=inbox_queries.unread_count(
            practice_id=practice.id, staff_id=staff_id) if staff_id is not None else count(
            select(func.count(Conversation.id)).where(Conversation.practice_id == practice.id,
                                                      Conversation.unread)),
    )
