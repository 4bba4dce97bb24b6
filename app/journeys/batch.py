"""Planning many visits at once: the scheduler's safety net and the bench.

The booking events plan each visit as it changes; ``plan_window`` plans every active visit of
a window again in a few set-based statements, for what reached the database without an event
(an EHR import) or after a rule changed. It computes the same keys, times and household
groups as ``planner``: every visit of a local day is read (the window padded by a day on each
side) so a household's reminder always names all its visits. Then one SELECT per thousand
keys finds what is queued, one INSERT per thousand rows adds what is missing, and a message
whose time or visits changed is re-timed one by one (rare).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select

from app.core.clock import utcnow
from app.extensions import db
from app.journeys.planner import ACTIVE, PLANNING_GRACE, own_key, phone_key
from app.journeys.rules import Journey, journey_for
from app.messaging import outbox
from app.messaging.models import Message, MessageStatus, Purpose
from app.patients.models import Patient
from app.practice.models import Location
from app.scheduling.models import Appointment

_PADDING = timedelta(days=1)


@dataclass
class _Planned:
    practice_id: int
    patient_id: int
    channel: str
    send_at: datetime
    step: str
    ids: list[int] = field(default_factory=list)

    @property
    def context(self) -> dict[str, object]:
        return {"appointment_ids": self.ids, "step": self.step}


def plan_window(*, start: datetime, end: datetime) -> int:
    """Plan the reminders of the visits starting in [start, end); returns how many visits."""
    rows = db.session.execute(
        select(Appointment.id, Appointment.practice_id, Appointment.patient_id,
               Appointment.appointment_type_id, Appointment.start_at, Location.timezone,
               Patient.mobile_phone_index, Patient.email_index)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(Appointment.start_at >= start - _PADDING, Appointment.start_at < end + _PADDING,
               Appointment.status.in_(ACTIVE))
        .order_by(Appointment.start_at, Appointment.id)).all()
    journeys: dict[tuple[int, int], Journey] = {}
    zones: dict[str, ZoneInfo] = {}
    wanted: dict[str, _Planned] = {}
    in_window: set[str] = set()
    for row in rows:
        journey = journeys.get((row.practice_id, row.appointment_type_id))
        if journey is None:
            journey = journeys[row.practice_id, row.appointment_type_id] = journey_for(
                row.practice_id, row.appointment_type_id)
        zone = zones.get(row.timezone) or zones.setdefault(row.timezone, ZoneInfo(row.timezone))
        day = row.start_at.astimezone(zone).date()
        for step in journey.steps:
            planned = []
            if "sms" in step.channels and row.mobile_phone_index:
                planned.append((phone_key(step, row.mobile_phone_index, day), "sms"))
            if row.email_index and ("email" in step.channels or (
                    "sms" in step.channels and not row.mobile_phone_index)):
                planned.append((own_key(row.id, f"{step.label}:email"), "email"))
            for key, channel in planned:
                entry = wanted.setdefault(key, _Planned(
                    row.practice_id, row.patient_id, channel, row.start_at - step.before,
                    step.label))
                entry.ids.append(row.id)
                if start <= row.start_at < end:
                    in_window.add(key)
    _write({key: wanted[key] for key in in_window})
    return sum(1 for row in rows if start <= row.start_at < end)


def _write(wanted: dict[str, _Planned]) -> None:
    now = utcnow()
    keys = sorted(wanted)
    existing: dict[str, Row] = {}
    for first in range(0, len(keys), 1000):
        existing.update((m.idempotency_key, m) for m in db.session.execute(
            select(Message.id, Message.idempotency_key, Message.status, Message.send_at,
                   Message.context)
            .where(Message.idempotency_key.in_(keys[first:first + 1000]))))
    new = []
    for key in keys:
        plan, queued = wanted[key], existing.get(key)
        too_late = plan.send_at < now - PLANNING_GRACE
        if queued is None:
            if not too_late:
                new.append({"practice_id": plan.practice_id, "purpose": Purpose.APPOINTMENT,
                            "idempotency_key": key, "patient_id": plan.patient_id,
                            "channel": plan.channel, "template": "journey_reminder",
                            "context": plan.context, "send_at": plan.send_at})
            continue
        if queued.status not in (MessageStatus.SCHEDULED, MessageStatus.CANCELLED) or (
                queued.status == MessageStatus.CANCELLED and too_late):
            continue
        if queued.status == MessageStatus.SCHEDULED and queued.send_at == plan.send_at \
                and json.loads(queued.context or "{}") == plan.context:
            continue
        if too_late:
            outbox.cancel(idempotency_key_prefix=key, reason="its moment passed before planning")
        else:
            outbox.retime(message_id=queued.id, send_at=plan.send_at, context=plan.context)
    outbox.enqueue_many(new)
