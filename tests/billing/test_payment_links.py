"""Payment links from the staff side to the patient's page and the demo checkout: who may
get one by text, what the page shows, paid once, expired and re-sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing import requests
from app.billing.models import LedgerEntry, PaymentRequest
from app.core import clock
from app.extensions import db
from app.messaging.models import Message
from tests import factories
from tests.billing.helpers import charge, grant_billing


@pytest.fixture
def patient(practice):  # noqa: ANN001, ANN201
    patient = factories.make_patient(practice)
    charge(patient, 12000, "Visit on 2026-06-01")
    return patient


def _link(request: PaymentRequest) -> str:
    message = db.session.get(Message, request.message_id)
    return re.search(r'"url": "http://localhost(/p/[^"]+)"', message.context).group(1)


def _send(practice, patient, **fields):  # noqa: ANN001, ANN003, ANN202
    return requests.send_link(practice_id=practice.id, patient_id=patient.id,
                              staff_id=None, **{"kind": "balance", **fields})


def test_a_link_is_texted_only_with_billing_consent_else_emailed(app, practice, patient):
    with pytest.raises(requests.PaymentRequestError) as refused:
        _send(practice, patient)
    assert "not agreed to billing texts" in refused.value.errors["channel"]

    grant_billing(patient, "email")
    assert _send(practice, patient).channel == "email"
    grant_billing(patient, "sms")
    sent = _send(practice, patient)
    message = db.session.get(Message, sent.message_id)
    assert (sent.channel, message.channel, message.purpose) == ("sms", "sms", "billing")
    assert (sent.amount_cents, sent.status) == (12000, "sent")


def test_amounts_are_checked_and_named(app, practice, patient):
    grant_billing(patient)
    for amount in ("", "abc", "-5", "1.234", "0"):
        with pytest.raises(requests.PaymentRequestError) as refused:
            _send(practice, patient, kind="amount", amount=amount)
        assert list(refused.value.errors) == ["amount"]
    assert _send(practice, patient, kind="amount", amount="$40.50").amount_cents == 4050


def test_the_page_shows_practice_amount_and_items_and_records_the_opening(
        app, client, practice, patient):
    grant_billing(patient)
    sent = _send(practice, patient)
    page = client.get(_link(sent))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Lakeside Family Dental" in text and "$120.00" in text
    assert "Visit on 2026-06-01" in text and patient.family_name not in text
    assert "How long it has been owed" in text and "statement.pdf" in text
    assert db.session.get(PaymentRequest, sent.id).status == "opened"


def test_demo_checkout_pays_once_and_the_link_then_says_paid(app, client, practice, patient):
    grant_billing(patient)
    sent = _send(practice, patient)
    link = _link(sent)
    checkout = client.post(f"{link}/checkout")
    assert checkout.status_code == 303
    demo = checkout.headers["Location"].removeprefix("http://localhost")
    declined = client.post(demo, data={"card": "decline"}).get_data(as_text=True)
    assert "declined" in declined
    assert db.session.get(PaymentRequest, sent.id).status == "opened"

    assert "approved" in client.post(demo, data={"card": "approve"}).get_data(as_text=True)
    client.post(demo, data={"card": "approve"})  # pressed twice
    payments = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.kind == "patient_payment")).scalars().all()
    assert [p.amount_cents for p in payments] == [-12000]
    assert db.session.get(PaymentRequest, sent.id).status == "paid"
    receipt = db.session.execute(select(Message).where(
        Message.template == "payment_receipt")).scalar_one()
    assert receipt.patient_id == patient.id
    assert "Paid, thank you" in client.get(link).get_data(as_text=True)
    assert client.post(f"{link}/checkout").status_code == 409


def test_an_expired_link_is_shown_expired_and_resent_once(app, client, practice, patient):
    grant_billing(patient)
    staff = factories.make_staff(practice)
    sent = _send(practice, patient)
    link = _link(sent)
    with clock.frozen_at(clock.utcnow() + timedelta(days=8)):
        assert client.get(link).status_code == 410
        assert requests.expire_due(practice_id=practice.id) == 1
        new = requests.resend(practice_id=practice.id, request_id=sent.id, staff_id=staff.id)
        with pytest.raises(requests.PaymentRequestError):
            requests.resend(practice_id=practice.id, request_id=sent.id, staff_id=staff.id)
    assert db.session.get(PaymentRequest, sent.id).resent_as_id == new.id
    assert (new.amount_cents, new.status) == (12000, "sent")


def test_a_copay_link_asks_the_types_copay(app, practice, patient):
    from app.scheduling.models import AppointmentType
    from tests.billing.helpers import price

    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    visit = factories.make_appointment(patient, provider, location)
    price(db.session.get(AppointmentType, visit.appointment_type_id), copay_cents=2500)
    grant_billing(patient)
    sent = requests.send_copay(practice_id=practice.id, appointment_id=visit.id, staff_id=None)
    assert (sent.kind, sent.amount_cents, sent.appointment_id) == ("copay", 2500, visit.id)
