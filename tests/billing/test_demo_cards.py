"""The demo provider simulates saved cards for payment plans and card refunds: the demo
checkout saves a test card where the patient agreed, later installments are charged to it
(success, or a decline that sends a link), and a refund of a demo payment posts at once."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.billing import accounts, cards, plans
from app.billing.models import LedgerEntry, PaymentPlan, PaymentRequest, PlanInstallment
from app.core import clock
from app.extensions import db
from tests import factories
from tests.billing.helpers import charge, grant_billing, link_path


def _plan_paid_by_demo_card(app, practice, card: str) -> PaymentPlan:  # noqa: ANN001
    patient = factories.make_patient(practice)
    charge(patient, 9000)
    grant_billing(patient)
    first = accounts.practice_today(practice.id) + timedelta(days=1)
    plan = plans.create(practice_id=practice.id, patient_id=patient.id, installments=3,
                        first_due=first, staff_id=None)
    plans.send_due_reminders(practice_id=practice.id)
    request = db.session.get(PaymentRequest, _installment(plan, 1).payment_request_id)
    client = app.test_client()
    answer = client.post(link_path(request) + "/checkout", data={"save_card": "yes"})
    checkout = answer.headers["Location"].removeprefix("http://localhost")
    page = client.get(checkout).get_data(as_text=True)
    assert "a card that will be declined on later charges" in page
    done = client.post(checkout, data={"card": card}).get_data(as_text=True)
    assert re.search(r"Payment of \$30\.00 approved", done)
    return db.session.get(PaymentPlan, plan.id)


def _installment(plan: PaymentPlan, number: int) -> PlanInstallment:
    return db.session.execute(select(PlanInstallment).where(
        PlanInstallment.plan_id == plan.id, PlanInstallment.number == number)).scalar_one()


def _on_due_day(practice, plan: PaymentPlan):  # noqa: ANN001, ANN202
    due = _installment(plan, 2).due_on
    return clock.frozen_at(datetime.combine(due, time(12), accounts.practice_zone(practice.id)))


def _payments() -> list[int]:
    return list(db.session.execute(select(LedgerEntry.amount_cents).where(
        LedgerEntry.kind == "patient_payment").order_by(LedgerEntry.id)).scalars())


def test_a_saved_demo_card_pays_the_next_installment_on_its_due_day(app, practice):
    plan = _plan_paid_by_demo_card(app, practice, "approve")
    assert plan.card_method_ref == "demo_pm_ok" and plan.card_provider == "demo"
    with _on_due_day(practice, plan):
        assert cards.charge_due(practice_id=practice.id) == 1
        assert cards.charge_due(practice_id=practice.id) == 0
    assert _payments() == [-3000, -3000]
    paid = db.session.get(PaymentRequest, _installment(plan, 2).payment_request_id)
    assert (paid.channel, paid.status) == ("card", "paid")


def test_a_declined_demo_card_falls_back_to_a_link(app, practice):
    plan = _plan_paid_by_demo_card(app, practice, "approve_declines_later")
    with _on_due_day(practice, plan):
        assert cards.charge_due(practice_id=practice.id) == 1
    link = db.session.get(PaymentRequest, _installment(plan, 2).payment_request_id)
    assert (link.channel, link.status) == ("sms", "sent")
    assert _payments() == [-3000]


def test_a_demo_card_payment_is_refunded_at_once(app, practice, login):
    plan = _plan_paid_by_demo_card(app, practice, "approve")
    payment = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.kind == "patient_payment")).scalar_one()
    page = login("billing").post(f"/billing/patients/{plan.patient_id}/refunds", data={
        "payment": str(payment.id), "amount": "30", "note": "changed plan"},
        follow_redirects=True).get_data(as_text=True)
    assert "Refund posted." in page
    refund = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.kind == "refund")).scalar_one()
    assert (refund.amount_cents, refund.refund_of_id) == (3000, payment.id)
