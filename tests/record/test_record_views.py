"""The patient record page (app.record): details, household, appointments in each location's
zone, conversations; audited; a friendly 404 for another practice's patient."""

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Conversation
from app.patients.models import Household
from app.security import blind_index
from app.security.models import AuditEvent
from app.web.ui import local_when
from tests import factories


@pytest.fixture
def staff(login):
    return login("front_desk")


@pytest.fixture
def garcia(practice):
    return factories.make_patient(practice, given_name="María", family_name="García",
                                  date_of_birth=date(1984, 3, 9), mobile_phone="+13125550134",
                                  preferred_language="es")


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


def test_record_shows_demographics_household_appointments_and_conversations(
        staff, practice, garcia):
    household = Household(practice_id=practice.id, phone=garcia.mobile_phone,
                          phone_index=blind_index.phone_index(garcia.mobile_phone))
    db.session.add(household)
    db.session.flush()
    child = factories.make_patient(practice, given_name="Sofía", family_name="García",
                                   household_id=household.id)
    garcia.household_id = household.id
    db.session.commit()
    east = factories.make_location(practice, name="Lakeside East", timezone="America/New_York")
    provider = factories.make_provider(practice, locations=[east], family_name="Okafor")
    cleaning = factories.make_appointment_type(practice, name="Cleaning")
    soon = utcnow().replace(microsecond=0) + timedelta(days=3)
    soon = soon.replace(hour=15, minute=0, second=0)  # 10:00 or 11:00 in New York
    factories.make_appointment(garcia, provider, east, start_at=soon, appointment_type=cleaning)
    factories.make_appointment(garcia, provider, east, start_at=utcnow() - timedelta(days=30),
                               appointment_type=cleaning, status="fulfilled")
    conversation = Conversation(practice_id=practice.id, channel="sms",
                                contact=garcia.mobile_phone,
                                contact_index=blind_index.phone_index(garcia.mobile_phone),
                                unread=True, last_message_at=utcnow(), patients=[garcia])
    db.session.add(conversation)
    db.session.commit()

    page = staff.get(f"/patients/{garcia.id}").get_data(as_text=True)

    assert "María García" in page and "Mar 9, 1984" in page
    assert f'href="/patients/{child.id}"' in page and "Sofía García" in page
    upcoming, past = page.split("Past appointments")
    assert "Dr. Ana Okafor" in upcoming and "Lakeside East" in upcoming
    assert local_when(soon.astimezone(ZoneInfo("America/New_York"))) in upcoming
    assert local_when(soon.astimezone(ZoneInfo("America/New_York"))).endswith(("EST", "EDT"))
    assert "Completed" in past
    assert "Unread" in page and "(312) 555-0134" in page


def test_opening_a_record_appends_an_audit_event(staff, garcia):
    staff.get(f"/patients/{garcia.id}")
    (event,) = _events("patient.view")
    assert event.patient_id == garcia.id and event.actor_role == "front_desk"
    assert "García" not in event.detail


def test_unknown_or_other_practice_patient_is_a_friendly_404(staff, garcia):
    elsewhere = factories.make_patient(factories.make_practice(name="Elsewhere"))
    for patient_id in (999_999, elsewhere.id):
        response = staff.get(f"/patients/{patient_id}")
        assert response.status_code == 404
        assert "There is no patient with that number" in response.get_data(as_text=True)
    assert _events("patient.view") == []


def test_billing_sees_billing_messages_and_past_visits_not_care_conversations(
        login, practice, garcia):
    """Minimum necessary: the billing role reads the messages about bills, the patient's
    contact details and past (billed) visits, not the conversations about care and
    scheduling nor the upcoming schedule; the front desk reads everything."""
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    now = utcnow().replace(second=0, microsecond=0)
    factories.make_appointment(garcia, provider, location, start_at=now - timedelta(days=30))
    factories.make_appointment(garcia, provider, location, start_at=now + timedelta(days=9))
    factories.make_message(garcia, body="Your balance of $40 is due", purpose="billing")
    factories.make_message(garcia, body="Reminder: your visit on Friday", purpose="appointment")
    factories.make_message(garcia, direction="inbound", body="My tooth hurts since the visit",
                           purpose="conversation")

    billing = login("billing").get(f"/patients/{garcia.id}").get_data(as_text=True)
    assert "Your balance of $40 is due" in billing
    assert "Reminder: your visit" not in billing and "My tooth hurts" not in billing
    assert "Upcoming appointments" not in billing and "Past appointments" in billing
    assert "(312) 555-0134" in billing  # contact details stay
    logged = json.loads(_events("conversation.view")[-1].detail)["message_ids"]
    assert len(logged) == 1  # the audit names only what was shown
    paged = login("billing").get(f"/patients/{garcia.id}/messages").get_data(as_text=True)
    assert "Your balance" in paged and "My tooth hurts" not in paged

    desk = login("front_desk").get(f"/patients/{garcia.id}").get_data(as_text=True)
    assert all(text in desk for text in ("Your balance of $40", "Reminder: your visit",
                                         "My tooth hurts", "Upcoming appointments"))
