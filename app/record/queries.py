"""Read side of the patient record page: one patient's demographics, household,
appointments and conversations. It reads patients, scheduling and messaging, so it sits above
those domains.

Opening a record appends an audit event (with the household members shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Conversation, Message, conversation_patient
from app.messaging.policy import patient_timezone
from app.patients import merge
from app.patients.models import Patient
from app.patients.queries import PatientNotFound
from app.practice.models import Practice
from app.scheduling.models import Appointment
from app.security import audit

PAST_APPOINTMENT_LIMIT = 20


@dataclass(frozen=True)
class AppointmentRow:
    appointment: Appointment
    starts: datetime  # in the location's zone


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    message_count: int
    last_message_at: datetime | None  # in the zone of the place the patient visits


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    household_members: list[Patient]
    upcoming: list[AppointmentRow]
    past: list[AppointmentRow]
    conversations: list[ConversationRow]
    merged_ids: list[int]  # duplicates merged into this record (their audit trail is its)
    review_match: Patient | None  # booked online resembling this patient: not reviewed yet
    schedule_shown: bool = True  # False: upcoming visits left out (minimum necessary)
    conversations_shown: bool = True


class PatientMerged(LookupError):
    """The record was merged into ``survivor_id``: its page is the survivor's."""

    def __init__(self, survivor_id: int) -> None:
        super().__init__(survivor_id)
        self.survivor_id = survivor_id


def patient_record(*, practice_id: int, patient_id: int, schedule: bool = True,
                   conversations: bool = True) -> PatientRecord:
    """One patient's record for the staff page: demographics, household, appointments (in
    each location's zone) and conversations. Raises PatientNotFound, and PatientMerged for a
    record merged into another. Minimum necessary: without ``schedule`` the upcoming visits are
    left out (past visits stay: they are what is billed), without ``conversations`` the
    conversation list.

    The access is recorded and committed first, so it is on the trail even if showing the
    record fails; what is shown is loaded after that commit."""
    found = db.session.execute(
        select(Patient.household_id, Patient.merged_into_id).where(
            Patient.id == patient_id, Patient.practice_id == practice_id)
    ).one_or_none()
    if found is None:
        raise PatientNotFound(patient_id)
    if found[1] is not None:
        raise PatientMerged(found[1])
    member_ids = list(db.session.execute(
        select(Patient.id).where(Patient.household_id == found[0],
                                 Patient.id != patient_id).order_by(Patient.id)
    ).scalars()) if found[0] is not None else []
    audit.record(audit.Action.PATIENT_VIEW, patient_id=patient_id, object_type="patient",
                 object_id=patient_id, detail={"household_member_ids": member_ids})
    db.session.commit()

    patient = db.session.get_one(Patient, patient_id)
    members = list(db.session.execute(
        select(Patient).where(Patient.id.in_(member_ids)).order_by(Patient.id)).scalars())
    now = utcnow()
    appointments = db.session.execute(
        select(Appointment).where(Appointment.patient_id == patient_id)
        .options(selectinload(Appointment.location), selectinload(Appointment.provider),
                 selectinload(Appointment.appointment_type))
        .order_by(Appointment.start_at)
    ).scalars().all()
    rows = [AppointmentRow(a, a.start_at.astimezone(ZoneInfo(a.location.timezone)))
            for a in appointments]
    upcoming = [row for row in rows if row.appointment.start_at >= now]
    past = [row for row in reversed(rows) if row.appointment.start_at < now]
    return PatientRecord(patient=patient, household_members=members,
                         upcoming=upcoming if schedule else [],
                         past=past[:PAST_APPOINTMENT_LIMIT],
                         conversations=_conversations(practice_id=practice_id,
                                                      patient=patient) if conversations else [],
                         merged_ids=merge.merged_ids(patient_id=patient_id),
                         review_match=db.session.get(Patient, patient.review_match_id)
                         if patient.review_match_id else None,
                         schedule_shown=schedule, conversations_shown=conversations)


def _conversations(*, practice_id: int, patient: Patient) -> list[ConversationRow]:
    """The patient's conversations, times in the zone the message log uses (the place the
    patient visits), so one page never shows one visit in two zones."""
    patient_id = patient.id
    zone = ZoneInfo(patient_timezone(patient, db.session.get_one(Practice, practice_id)))
    counts = (select(Message.conversation_id, func.count(Message.id).label("n"))
              .group_by(Message.conversation_id).subquery())
    found = db.session.execute(
        select(Conversation, func.coalesce(counts.c.n, 0))
        .join(conversation_patient, conversation_patient.c.conversation_id == Conversation.id)
        .outerjoin(counts, counts.c.conversation_id == Conversation.id)
        .where(conversation_patient.c.patient_id == patient_id,
               Conversation.practice_id == practice_id)
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
    ).all()
    return [ConversationRow(c, n, c.last_message_at.astimezone(zone)
                            if c.last_message_at else None) for c, n in found]
