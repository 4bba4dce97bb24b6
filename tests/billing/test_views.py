"""Billing's staff screens: who may do what, balances by aging, the account page, the fee
schedule, and the copay collected from the appointment page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing import accounts
from app.billing.models import EntryKind, LedgerEntry, PaymentRequest
from app.core import clock
from app.extensions import db
from app.scheduling.models import AppointmentType
from app.security.models import AuditEvent
from tests import factories
from tests.billing.helpers import charge, grant_billing, price


@pytest.fixture
def patient(practice):  # noqa: ANN001, ANN201
    patient = factories.make_patient(practice)
    charge(patient, 12000, "Visit on 2026-06-01")
    return patient


@pytest.mark.parametrize(("role", "status"), [("front_desk", 403), ("marketing", 403),
                                              ("billing", 302), ("manager", 302),
                                              ("admin", 302)])
def test_only_billing_managers_and_admins_post_adjustments(login, patient, role, status):
    answer = login(role).post(f"/billing/patients/{patient.id}/adjustments", data={
        "reason": "discount", "direction": "lower", "amount": "10", "note": "loyalty"})
    assert answer.status_code == status
    posted = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.kind == "adjustment")).scalars().all()
    assert [e.amount_cents for e in posted] == ([-1000] if status == 302 else [])


def test_front_desk_sees_the_balance_and_sends_a_link_but_cannot_adjust(login, patient):
    grant_billing(patient)
    desk = login("front_desk")
    page = desk.get(f"/billing/patients/{patient.id}").get_data(as_text=True)
    assert "$120.00" in page and "Send link" in page and "Post adjustment" not in page
    answer = desk.post(f"/billing/patients/{patient.id}/links", data={"kind": "balance"},
                       follow_redirects=True)
    assert "Payment link for $120.00 queued by sms" in answer.get_data(as_text=True)
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "payment_link.send")).scalar_one().patient_id == patient.id


def test_a_link_that_cannot_be_texted_says_why(login, patient):
    page = login("front_desk").post(f"/billing/patients/{patient.id}/links",
                                    data={"kind": "balance"}, follow_redirects=True)
    assert "has not agreed to billing texts" in page.get_data(as_text=True)
    assert db.session.execute(select(PaymentRequest)).first() is None


def test_balances_filter_by_aging(login, practice, patient):
    old = factories.make_patient(practice)
    with clock.frozen_at(clock.utcnow() - timedelta(days=75)):
        charge(old, 5000)
    client = login("billing")
    everyone = client.get("/billing/").get_data(as_text=True)
    assert patient.family_name in everyone and old.family_name in everyone
    aged = client.get("/billing/?aging=61_90").get_data(as_text=True)
    assert old.family_name in aged and patient.family_name not in aged
    assert client.get("/billing/?aging=nonsense").status_code == 200


def test_refunds_post_from_the_account_page(login, practice, patient):
    payment = accounts.post(patient=patient, kind=EntryKind.PATIENT_PAYMENT,
                            amount_cents=-5000, description="Card payment")
    db.session.commit()
    client = login("billing")
    client.post(f"/billing/patients/{patient.id}/refunds",
                data={"payment": payment.id, "amount": "70", "note": "too much"})
    client.post(f"/billing/patients/{patient.id}/refunds",
                data={"payment": payment.id, "amount": "20", "note": "overpaid"})
    assert [e.amount_cents for e in db.session.execute(select(LedgerEntry).where(
        LedgerEntry.kind == "refund")).scalars()] == [2000]


def test_managers_price_appointment_types(login, practice):
    kind = factories.make_appointment_type(practice, name="Cleaning")
    client = login("manager")
    assert "Cleaning" in client.get("/billing/fees").get_data(as_text=True)
    bad = client.post("/billing/fees", data={"appointment_type": kind.id, "fee": "abc",
                                             "copay": ""}, follow_redirects=True)
    assert "Enter an amount in dollars" in bad.get_data(as_text=True)
    client.post("/billing/fees", data={"appointment_type": kind.id, "fee": "150",
                                       "copay": "25"})
    page = client.get("/billing/fees").get_data(as_text=True)
    assert 'value="150.00"' in page and 'value="25.00"' in page
    assert login("billing").get("/billing/fees").status_code == 403


def test_collect_copay_from_the_appointment_shows_its_state(login, practice, patient):
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    visit = factories.make_appointment(patient, provider, location, status="arrived")
    price(db.session.get(AppointmentType, visit.appointment_type_id), copay_cents=3000)
    grant_billing(patient)
    desk = login("front_desk")
    assert "Collect copay" in desk.get(f"/schedule/appointments/{visit.id}").get_data(
        as_text=True)
    answer = desk.post(f"/billing/appointments/{visit.id}/copay")
    assert answer.status_code == 302
    state = desk.get(answer.headers["Location"], headers={"HX-Request": "true"})
    assert "Sent" in state.get_data(as_text=True) and "hx-trigger" in state.get_data(
        as_text=True)


def test_the_record_links_to_the_account(login, patient):
    page = login("billing").get(f"/patients/{patient.id}").get_data(as_text=True)
    assert f"/billing/patients/{patient.id}" in page
