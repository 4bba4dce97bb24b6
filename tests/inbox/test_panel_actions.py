"""The patient panel's actions beside a thread: cancel an upcoming visit (confirm step, the
patient told or not), and the balance with "send payment link" by the channel billing's
consent allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.billing.models import PaymentRequest
from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Conversation, Message
from app.scheduling.models import Appointment
from app.security import permissions
from app.security.models import AuditEvent
from app.security.permissions import Permission, Role
from tests import factories
from tests.billing.helpers import charge, grant_billing
from tests.inbox.conftest import WEBHOOK_SETTINGS, text_in

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def visit(practice, patient):
    location = factories.make_location(practice, name="Lakeside North")
    provider = factories.make_provider(practice, locations=[location])
    return factories.make_appointment(patient, provider, location,
                                      start_at=utcnow() + timedelta(days=3))


@pytest.fixture
def cid(client, patient):
    text_in(client, "I can't make it on Friday")
    return db.session.execute(select(Conversation.id)).scalar_one()


def panel(client, cid: int) -> str:
    return client.get(f"/inbox/c/{cid}").get_data(as_text=True).split(
        'class="patient-panel"', 1)[1]


def apologies(patient) -> list[Message]:
    return db.session.execute(select(Message).where(
        Message.patient_id == patient.id, Message.template == "journey_apology")
    ).scalars().all()


def test_a_visit_is_cancelled_from_the_panel_without_telling_the_patient(
        patient, visit, cid, staff_client):
    user, alice = staff_client()
    shown = panel(alice, cid)
    assert f'action="/inbox/c/{cid}/visits/{visit.id}/cancel"' in shown
    assert "Notify the patient" in shown and "Cancel this visit" in shown
    response = alice.post(f"/inbox/c/{cid}/visits/{visit.id}/cancel",
                          data={"reason": "Asked by text"}, follow_redirects=True)
    assert "The visit is cancelled." in response.get_data(as_text=True)
    db.session.refresh(visit)
    assert (visit.status, visit.cancel_reason) == ("cancelled", "Asked by text")
    assert apologies(patient) == []
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.patient_id == patient.id, AuditEvent.object_type == "appointment",
        AuditEvent.object_id == str(visit.id), AuditEvent.actor_id == user.id)).first()
    assert "Lakeside North" not in panel(alice, cid).split("Recent visits")[0]


def test_notify_the_patient_sends_the_practices_apology(patient, visit, cid, staff_client):
    _, alice = staff_client()
    response = alice.post(f"/inbox/c/{cid}/visits/{visit.id}/cancel",
                          data={"reason": "Provider ill", "notify": "1"}, follow_redirects=True)
    assert "the patient is sent an apology" in response.get_data(as_text=True)
    assert db.session.get(Appointment, visit.id).status == "cancelled"
    assert len(apologies(patient)) == 1


def test_a_cancel_without_a_reason_is_refused_by_name(patient, visit, cid, staff_client):
    _, alice = staff_client()
    response = alice.post(f"/inbox/c/{cid}/visits/{visit.id}/cancel", data={"reason": " "},
                          follow_redirects=True)
    assert "say why the appointment is cancelled" in response.get_data(as_text=True)
    assert db.session.get(Appointment, visit.id).status == "booked"


def test_only_an_upcoming_visit_of_the_thread_and_only_with_the_schedule_permission(
        practice, patient, visit, cid, staff_client):
    other = factories.make_patient(practice)
    theirs = factories.make_appointment(other, db.session.get(Appointment, visit.id).provider,
                                        visit.location, start_at=utcnow() + timedelta(days=5))
    _, alice = staff_client()
    assert alice.post(f"/inbox/c/{cid}/visits/{theirs.id}/cancel",
                      data={"reason": "x"}).status_code == 404
    _, billing = staff_client("billing")
    assert billing.post(f"/inbox/c/{cid}/visits/{visit.id}/cancel",
                        data={"reason": "x"}).status_code == 403
    assert db.session.get(Appointment, theirs.id).status == "booked"
    assert db.session.get(Appointment, visit.id).status == "booked"


def billing_part(client, patient, cid: int) -> str:
    shown = panel(client, cid)
    assert f'/billing/patients/{patient.id}/inbox-panel?next=/inbox/c/{cid}' in shown
    return client.get(f"/billing/patients/{patient.id}/inbox-panel?next=/inbox/c/{cid}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)


def test_the_balance_sends_a_payment_link_by_text_with_billing_consent(
        patient, cid, staff_client):
    charge(patient, 12000)
    grant_billing(patient, "sms")
    _, alice = staff_client()
    part = billing_part(alice, patient, cid)
    assert "$120.00" in part and "Send payment link by text" in part
    response = alice.post(f"/billing/patients/{patient.id}/links",
                          data={"kind": "balance", "next": f"/inbox/c/{cid}"})
    assert response.headers["Location"] == f"/inbox/c/{cid}"
    sent = db.session.execute(select(PaymentRequest)).scalar_one()
    assert (sent.amount_cents, sent.channel) == (12000, "sms")


def test_without_billing_text_consent_the_link_goes_by_email_and_the_panel_says_why(
        patient, cid, staff_client):
    charge(patient, 4500)
    grant_billing(patient, "email")
    _, alice = staff_client()
    part = billing_part(alice, patient, cid)
    assert "Send payment link by email" in part and "Send payment link by text" not in part
    assert "Not by text:" in part and "has not agreed to billing texts" in part


def test_nobody_reachable_for_billing_no_link_and_the_reason(patient, cid, staff_client):
    charge(patient, 4500)
    _, alice = staff_client()
    part = billing_part(alice, patient, cid)
    assert "A payment link cannot be sent:" in part and "No email billing consent" in part
    assert "Send payment link" not in part


def test_a_role_without_the_link_permission_sees_the_balance_only(
        monkeypatch, patient, cid, staff_client):
    charge(patient, 4500)
    grant_billing(patient, "sms")
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, Role.FRONT_DESK,
                        permissions.ROLE_PERMISSIONS[Role.FRONT_DESK]
                        - {Permission.PAYMENT_LINK_SEND})
    _, alice = staff_client()
    part = billing_part(alice, patient, cid)
    assert "$45.00" in part and "Send payment link" not in part
