"""Payment plans: installments sum to the balance, fall due monthly, and each gets its own
link a few days before it is due (once), paid like any link."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.billing import accounts, plans
from app.billing.models import PaymentRequest, PlanInstallment
from app.core import clock
from app.extensions import db
from tests import factories
from tests.billing.helpers import charge, grant_billing


@given(st.integers(1, 10_000_000), st.integers(2, 24))
def test_installments_sum_to_the_balance_and_differ_by_a_cent_at_most(total, count):
    amounts = plans.split(total, count)
    assert sum(amounts) == total and len(amounts) == count
    assert max(amounts) - min(amounts) <= 1


def test_monthly_due_days_keep_the_day_or_the_months_last():
    assert plans.monthly(date(2027, 1, 31), 3) == [date(2027, 1, 31), date(2027, 2, 28),
                                                   date(2027, 3, 31)]
    assert plans.monthly(date(2026, 12, 15), 2) == [date(2026, 12, 15), date(2027, 1, 15)]


def test_a_plan_sends_each_installments_link_before_it_is_due(app, practice):
    patient = factories.make_patient(practice)
    staff = factories.make_staff(practice, role="billing")
    charge(patient, 10000)
    grant_billing(patient)
    today = accounts.practice_today(practice.id)
    with pytest.raises(plans.PlanInputError) as refused:
        plans.create(practice_id=practice.id, patient_id=patient.id, installments=1,
                     first_due=today - timedelta(days=1), staff_id=staff.id)
    assert set(refused.value.errors) == {"installments", "first_due"}

    plans.create(practice_id=practice.id, patient_id=patient.id, installments=3,
                 first_due=today + timedelta(days=10), staff_id=staff.id)
    assert plans.send_due_reminders(practice_id=practice.id) == 0
    with clock.frozen_at(clock.utcnow() + timedelta(days=8)):
        assert plans.send_due_reminders(practice_id=practice.id) == 1
        assert plans.send_due_reminders(practice_id=practice.id) == 0
    first = db.session.execute(select(PlanInstallment).where(
        PlanInstallment.number == 1)).scalar_one()
    request = db.session.get(PaymentRequest, first.payment_request_id)
    assert (request.kind, request.amount_cents) == ("installment", 3334)
    states = [view.state for view in plans.installments(practice_id=practice.id,
                                                        patient_id=patient.id)]
    assert states == ["sent", "upcoming", "upcoming"]


def test_billing_sets_up_a_plan_from_the_account_page(login, practice):
    patient = factories.make_patient(practice)
    charge(patient, 9000)
    client = login("billing")
    first = (accounts.practice_today(practice.id) + timedelta(days=5)).isoformat()
    client.post(f"/billing/patients/{patient.id}/plans",
                data={"installments": "3", "first_due": first})
    page = client.get(f"/billing/patients/{patient.id}").get_data(as_text=True)
    assert page.count("$30.00") >= 3 and "Link sent 3 days before it is due" in page
    assert login("front_desk").post(f"/billing/patients/{patient.id}/plans", data={
        "installments": "2", "first_due": first}).status_code == 403
