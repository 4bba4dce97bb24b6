"""A payment plan's saved card on phones, CSRF on: the patient ticks the agreement on the
installment's payment page and pays on the demo checkout; billing staff see the agreement on
the plan, then record the patient's withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.billing import accounts, plans
from app.billing.models import PaymentPlan, PaymentRequest, PlanInstallment
from app.extensions import db
from tests import factories
from tests.billing.helpers import charge, grant_billing, link_path
from tests.browser.test_payment_link import phones, served  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_the_patient_agrees_to_save_the_card_and_staff_see_and_withdraw_it(phones, served,  # noqa: F811
                                                                        practice):
    patient = factories.make_patient(practice)
    charge(patient, 9000)
    grant_billing(patient)
    plan = plans.create(practice_id=practice.id, patient_id=patient.id, installments=3,
                        first_due=accounts.practice_today(practice.id) + timedelta(days=1),
                        staff_id=None)
    plans.send_due_reminders(practice_id=practice.id)
    first = db.session.execute(select(PlanInstallment).where(
        PlanInstallment.plan_id == plan.id, PlanInstallment.number == 1)).scalar_one()
    request = db.session.get(PaymentRequest, first.payment_request_id)

    patient_phone = phones()
    patient_phone.goto(served + link_path(request))
    agreement = patient_phone.get_by_label("Save my card", exact=False)
    expect(agreement).not_to_be_checked()
    agreement.check()
    patient_phone.get_by_role("button", name="Pay $30.00 by card").click()
    patient_phone.get_by_role("button", name="Pay with a test card that works").click()
    expect(patient_phone.get_by_role("status")).to_contain_text("approved")
    saved = db.session.get(PaymentPlan, plan.id)
    db.session.refresh(saved)
    assert saved.card_method_ref == "demo_pm_ok"

    user = factories.make_staff(practice, role="billing")
    staff = phones()
    staff.goto("/sign-in")
    staff.get_by_label("Email").fill(user.email)
    staff.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"/billing/patients/{patient.id}")
    expect(staff.get_by_text(f"(payment page of link #{request.id}) to have the saved card "
                             "charged", exact=False)).to_be_visible()
    expect(staff.get_by_text("Saved card charged on the due day").first).to_be_visible()
    staff.get_by_role("button", name="Patient withdrew the saved-card agreement").click()
    expect(staff.get_by_text("will not be charged again", exact=False)).to_be_visible()
