"""The journeys' scheduler jobs: the planner catches visits that arrived without an event,
and visits not arrived after their start are flagged (or marked no-show)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from app.core.clock import utcnow
from app.core.tenancy import acting_for
from app.extensions import db
from app.journeys import jobs
from app.journeys.models import JourneyRule
from app.messaging.models import Message
from app.scheduling.models import Appointment
from tests import factories
from tests.journeys.kit import book, local_day, make_clinic, utc


def journey_rows() -> list[Message]:
    db.session.expire_all()
    return list(db.session.execute(select(Message).where(
        Message.template.startswith("journey_")).order_by(Message.id)).scalars())


def test_the_planner_plans_visits_that_came_without_an_event_once(practice):
    clinic = make_clinic(practice)
    mother = factories.make_patient(practice, given_name="Rosa")
    son = factories.make_patient(practice, given_name="Leo", mobile_phone=mother.mobile_phone)
    day = local_day(3)
    first = factories.make_appointment(mother, clinic.provider, clinic.location,
                                       start_at=utc(day, "09:00"),
                                       appointment_type=clinic.kind)
    second = factories.make_appointment(son, clinic.provider, clinic.location,
                                        start_at=utc(day, "09:30"),
                                        appointment_type=clinic.kind)
    assert journey_rows() == []
    with acting_for(practice.id):
        assert jobs.plan_upcoming() == 2
        planned = journey_rows()
        assert jobs.plan_upcoming() == 2
    assert [m.id for m in journey_rows()] == [m.id for m in planned]
    two_hour = next(m for m in planned if m.idempotency_key.startswith("j:p:2h:"))
    assert json.loads(two_hour.context)["appointment_ids"] == [first.id, second.id]
    assert two_hour.send_at == first.start_at - timedelta(hours=2)
    assert {m.idempotency_key.split(":")[2] for m in planned
            if m.idempotency_key.startswith("j:p:")} <= {"3d", "1d", "2h"}


def test_the_planner_and_the_booking_event_agree(practice):
    clinic = make_clinic(practice)
    book(clinic, factories.make_patient(practice), local_day(3), "15:00")
    before = {(m.idempotency_key, m.send_at, m.context) for m in journey_rows()}
    with acting_for(practice.id):
        jobs.plan_upcoming()
    after = {(m.idempotency_key, m.send_at, m.context) for m in journey_rows()}
    assert after == before


def test_a_visit_not_arrived_is_flagged_for_staff(practice):
    clinic = make_clinic(practice)
    late = factories.make_appointment(factories.make_patient(practice), clinic.provider,
                                      clinic.location, appointment_type=clinic.kind,
                                      start_at=utcnow() - timedelta(minutes=40))
    early = factories.make_appointment(factories.make_patient(practice), clinic.provider,
                                       clinic.location, appointment_type=clinic.kind,
                                       start_at=utcnow() - timedelta(minutes=10))
    with acting_for(practice.id):
        assert jobs.flag_overdue() == 1
        assert jobs.flag_overdue() == 0
    db.session.expire_all()
    assert db.session.get(Appointment, late.id).overdue_at is not None
    assert db.session.get(Appointment, late.id).status == "booked"
    assert db.session.get(Appointment, early.id).overdue_at is None


def test_a_practice_may_have_them_marked_no_show(practice):
    clinic = make_clinic(practice)
    rule = db.session.execute(select(JourneyRule)).scalar_one()
    rule.auto_no_show = True
    db.session.commit()
    late = factories.make_appointment(factories.make_patient(practice), clinic.provider,
                                      clinic.location, appointment_type=clinic.kind,
                                      start_at=utcnow() - timedelta(minutes=40))
    with acting_for(practice.id):
        assert jobs.flag_overdue() == 1
    db.session.expire_all()
    assert db.session.get(Appointment, late.id).status == "noshow"
    assert db.session.execute(select(func.count()).where(
        Message.template == "journey_missed_you")).scalar() == 1
