"""What reminders and recall read: upcoming appointments, the last fulfilled visit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.patients.models import Patient
from app.practice.models import Practice
from app.scheduling import queries
from app.scheduling.models import Appointment, AppointmentType
from app.security.models import AuditEvent
from tests import factories


def test_upcoming_lists_live_future_appointments_soonest_first_and_is_audited(
        db, practice: Practice) -> None:
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    patient, someone_else = factories.make_patient(practice), factories.make_patient(practice)
    now = utcnow().replace(microsecond=0)
    kind = factories.make_appointment_type(practice)

    def book(patient: Patient, days: int, status: str = "booked") -> Appointment:
        return factories.make_appointment(patient, provider, location, appointment_type=kind,
                                          start_at=now + timedelta(days=days), status=status)

    later, sooner = book(patient, 9), book(patient, 2, "pending")
    for days, status in ((-3, "fulfilled"), (4, "cancelled"), (5, "proposed"),
                         (6, "entered-in-error")):
        book(patient, days, status)
    book(someone_else, 1)

    upcoming = queries.upcoming_appointments(patient_id=patient.id, now=now)

    assert [a.id for a in upcoming] == [sooner.id, later.id]
    assert upcoming[0].location.timezone == location.timezone
    assert [a.id for a in queries.upcoming_appointments(patient_id=patient.id, now=now,
                                                        limit=1)] == [sooner.id]
    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert (event.action, event.patient_id) == ("appointment.view", patient.id)
    assert event.detail == '{"count":1,"query":"upcoming"}'


def test_last_fulfilled_visit_overall_and_per_type(db, practice: Practice) -> None:
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    patient = factories.make_patient(practice)
    cleaning = factories.make_appointment_type(practice, name="Cleaning")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    now = utcnow().replace(microsecond=0)

    def visit(kind: AppointmentType, days_ago: int, status: str = "fulfilled") -> Appointment:
        return factories.make_appointment(patient, provider, location, appointment_type=kind,
                                          start_at=now - timedelta(days=days_ago), status=status)

    assert queries.last_fulfilled_visit(patient_id=patient.id) is None
    old_cleaning, exam_visit = visit(cleaning, 200), visit(exam, 30)
    visit(cleaning, 10, "noshow")

    assert queries.last_fulfilled_visit(patient_id=patient.id).id == exam_visit.id
    assert queries.last_fulfilled_visit(patient_id=patient.id,
                                        appointment_type_id=cleaning.id).id == old_cleaning.id
    events = db.session.execute(select(AuditEvent.action, AuditEvent.patient_id)).all()
    assert events == [("appointment.view", patient.id)] * 3
