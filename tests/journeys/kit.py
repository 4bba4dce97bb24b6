"""A clinic open every day, a worker that records what it sends, and a way to let time pass
with the worker running: what the journey tests share."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.adapters.email.console import ConsoleEmail
from app.adapters.sms.console import ConsoleSms
from app.core import clock
from app.extensions import db
from app.journeys.models import JourneyRule
from app.messaging import consent, dispatcher, inbound
from app.messaging.conversations import contact_index
from app.messaging.models import Message, MessageStatus
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import booking, calendars, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType
from app.security.models import StaffUser
from tests import factories

CHICAGO = ZoneInfo("America/Chicago")
REVIEW_URL = "https://g.page/r/lakeside/review"
_sids = itertools.count(1)


class RecordingSms(ConsoleSms):
    def __init__(self) -> None:
        self.sent: list[tuple[datetime, str, str]] = []

    def send_sms(self, *, to: str, body: str, **kwargs):  # noqa: ANN003, ANN201
        self.sent.append((clock.utcnow(), to, body))
        return super().send_sms(to=to, body=body, **kwargs)


class RecordingEmail(ConsoleEmail):
    def __init__(self) -> None:
        self.sent: list[tuple[datetime, str, str]] = []

    def send_email(self, *, to: str, subject: str, text: str, **kwargs):  # noqa: ANN003, ANN201
        self.sent.append((clock.utcnow(), to, text))
        return super().send_email(to=to, subject=subject, text=text, **kwargs)


@dataclass
class Clinic:
    practice: Practice
    location: Location
    provider: Provider
    kind: AppointmentType
    staff: StaffUser
    sms: RecordingSms = field(default_factory=RecordingSms)
    email: RecordingEmail = field(default_factory=RecordingEmail)

    @property
    def providers(self) -> dispatcher.Providers:
        return dispatcher.Providers(sms=self.sms, email=self.email,
                                    public_base_url="http://localhost")

    def texts_to(self, patient: Patient) -> list[str]:
        return [body for _at, to, body in self.sms.sent if to == patient.mobile_phone]


def make_clinic(practice: Practice) -> Clinic:
    """A Chicago location whose provider works every day 07:00-19:00; the practice asks for
    reviews on REVIEW_URL."""
    location = factories.make_location(practice, name="Lakeside Loop")
    kind = factories.make_appointment_type(practice, name="Checkup", duration_minutes=30)
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(day, time(7), time(19))
                                          for day in range(7)])
    db.session.add(JourneyRule(practice_id=practice.id, review_url=REVIEW_URL))
    db.session.commit()
    return Clinic(practice, location, provider, kind, factories.make_staff(practice))


def local_day(days_ahead: int) -> date:
    return clock.utcnow().astimezone(CHICAGO).date() + timedelta(days=days_ahead)


def book(clinic: Clinic, patient: Patient, day: date, hhmm: str) -> Appointment:
    start = clock.local_to_utc(day, time.fromisoformat(hhmm), CHICAGO)
    slot = slots.Slot(start=start, end=start + timedelta(minutes=30),
                      provider_id=clinic.provider.id, location_id=clinic.location.id,
                      appointment_type_id=clinic.kind.id)
    return booking.book(patient_id=patient.id, slot=slot, source="staff",
                        staff_id=clinic.staff.id)


def run_worker_until(clinic: Clinic, moment: datetime) -> None:
    """Let time pass to ``moment`` with a worker sending each message when it falls due
    (the clock set to that message's time)."""
    for _ in range(200):
        db.session.expire_all()
        due = db.session.execute(
            select(Message.send_at).where(Message.status == MessageStatus.SCHEDULED,
                                          Message.send_at <= moment)
            .order_by(Message.send_at).limit(1)).scalar()
        if due is None:
            return
        with clock.frozen_at(max(due, clock.utcnow())):
            dispatcher.run_once(clinic.providers)
    raise AssertionError("the worker kept finding due messages")


def text_in(patient: Patient, body: str, *, at: datetime) -> inbound.InboundResult:
    with clock.frozen_at(at):
        return inbound.receive_sms(message_sid=f"SMjourney{next(_sids):024d}",
                                   sender=patient.mobile_phone, body=body,
                                   to=factories.DEPLOYMENT_NUMBER)


def allow_marketing(patient: Patient) -> None:
    consent.record(practice_id=patient.practice_id, channel="sms",
                   contact_index=contact_index("sms", patient.mobile_phone),
                   purpose="marketing", granted=True, source="form", patient_id=patient.id)
    db.session.commit()


def journey_messages(appointment: Appointment) -> list[Message]:
    db.session.expire_all()
    rows = db.session.execute(select(Message).where(Message.template.startswith("journey_"))
                              .order_by(Message.id)).scalars()
    return [m for m in rows
            if appointment.id in json.loads(m.context or "{}").get("appointment_ids", [])]


def utc(day: date, hhmm: str) -> datetime:
    return clock.local_to_utc(day, time.fromisoformat(hhmm), CHICAGO).astimezone(UTC)
