"""Posting to accounts: the visit's charge when it is fulfilled, adjustments, refunds,
household guarantors, and entries that can never be changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing import accounts
from app.billing.models import EntryKind, LedgerEntry
from app.core.clock import utcnow
from app.extensions import db
from app.patients.models import Household
from app.scheduling import booking
from app.scheduling.models import AppointmentType
from app.security.models import AuditEvent
from tests import factories
from tests.billing.helpers import charge, price


@pytest.fixture
def visit(practice):  # noqa: ANN001, ANN201
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    kind = factories.make_appointment_type(practice)
    patient = factories.make_patient(practice)
    appointment = factories.make_appointment(  # arrived, begun: it may be checked out
        patient, provider, location, appointment_type=kind, status="arrived",
        start_at=utcnow() - timedelta(minutes=30))
    return appointment, factories.make_staff(practice).id  # the visit, who checks it out


def _entries(patient_id: int) -> list[LedgerEntry]:
    return list(db.session.execute(select(LedgerEntry).where(
        LedgerEntry.patient_id == patient_id).order_by(LedgerEntry.id)).scalars())


def test_a_fulfilled_visit_posts_its_fee_once(app, visit):
    visit, staff_id = visit
    price(db.session.get(AppointmentType, visit.appointment_type_id), fee_cents=15000)
    booking.set_status(appointment_id=visit.id, status="fulfilled", source="staff",
                       staff_id=staff_id)

    (entry,) = _entries(visit.patient_id)
    assert (entry.kind, entry.amount_cents, entry.appointment_id) == ("charge", 15000, visit.id)
    assert entry.description.startswith("Visit on ")
    account = accounts.account(practice_id=visit.practice_id, patient_id=visit.patient_id)
    assert account.balance_cents == 15000 == account.aging.current


def test_a_visit_marked_entered_in_error_is_reversed_not_deleted(app, visit):
    visit, staff_id = visit
    price(db.session.get(AppointmentType, visit.appointment_type_id), fee_cents=9000)
    booking.set_status(appointment_id=visit.id, status="fulfilled", source="staff",
                       staff_id=staff_id)
    booking.set_status(appointment_id=visit.id, status="entered-in-error", source="staff",
                       staff_id=staff_id)

    assert [(e.kind, e.amount_cents) for e in _entries(visit.patient_id)] == [
        ("charge", 9000), ("adjustment", -9000)]
    assert accounts.account(practice_id=visit.practice_id, patient_id=visit.patient_id,
                            audited=False).balance_cents == 0


def test_an_unpriced_type_posts_nothing(app, visit):
    visit, staff_id = visit
    booking.set_status(appointment_id=visit.id, status="fulfilled", source="staff",
                       staff_id=staff_id)
    assert _entries(visit.patient_id) == []


def test_entries_are_immutable(app, practice):
    patient = factories.make_patient(practice)
    charge(patient, 5000)
    (entry,) = _entries(patient.id)
    entry.amount_cents = 1
    with pytest.raises(ValueError, match="post a correction"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(LedgerEntry, entry.id))
    with pytest.raises(ValueError, match="post a correction"):
        db.session.commit()


def test_adjustments_need_a_reason_and_a_note_and_are_audited(app, practice):
    patient = factories.make_patient(practice)
    staff = factories.make_staff(practice, role="billing")
    charge(patient, 10000)
    with pytest.raises(accounts.LedgerInputError) as refused:
        accounts.post_adjustment(practice_id=practice.id, patient_id=patient.id,
                                 reason="write_off", amount_cents=100, increases=True,
                                 note="", staff_id=staff.id)
    assert set(refused.value.errors) == {"direction", "note"}

    accounts.post_adjustment(practice_id=practice.id, patient_id=patient.id,
                             reason="write_off", amount_cents=2500, increases=False,
                             note="hardship", staff_id=staff.id)
    adjustment = _entries(patient.id)[-1]
    assert (adjustment.reason, adjustment.amount_cents, adjustment.note) == (
        "write_off", -2500, "hardship")
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "balance.adjust",
        AuditEvent.object_id == str(adjustment.id))).scalar_one().patient_id == patient.id


def test_a_households_entries_go_to_its_guarantor(app, practice):
    household = Household(practice_id=practice.id, phone="+13125550199", phone_index="x")
    db.session.add(household)
    db.session.commit()
    parent = factories.make_patient(practice, household_id=household.id)
    child = factories.make_patient(practice, household_id=household.id)
    accounts.set_guarantor(practice_id=practice.id, patient_id=parent.id)
    charge(child, 4000)
    charge(parent, 1000)

    for member in (parent, child):
        account = accounts.account(practice_id=practice.id, patient_id=member.id)
        assert (account.guarantor_id, account.balance_cents) == (parent.id, 5000)
    assert {e.patient_id for e in _entries(child.id)} == {child.id}


def test_a_refund_is_limited_to_its_payment(app, practice):
    patient = factories.make_patient(practice)
    staff = factories.make_staff(practice, role="billing")
    payment = accounts.post(patient=patient, kind=EntryKind.PATIENT_PAYMENT,
                            amount_cents=-3000, description="Card payment")
    db.session.commit()
    accounts.refund_by_staff(practice_id=practice.id, patient_id=patient.id,
                             payment_id=payment.id, amount_cents=2000, note="overpaid",
                             staff_id=staff.id)
    with pytest.raises(accounts.LedgerInputError, match=r"At most \$10.00"):
        accounts.refund_by_staff(practice_id=practice.id, patient_id=patient.id,
                                 payment_id=payment.id, amount_cents=1001, note="again",
                                 staff_id=staff.id)
