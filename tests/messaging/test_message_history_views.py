"""The message log on a patient's record: every message in and out, newest first, with its
state, reason, provider id and error; paged; audited; closed to marketing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.messaging import conversations
from app.security.models import AuditEvent
from app.web.ui import local_when
from tests import factories

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, given_name="Rosa", mobile_phone="+13125550147")


def _log_section(page: str) -> str:
    return page[page.index('id="messages"'):]


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


def test_log_shows_messages_in_and_out_with_state_reason_provider_id_and_error(
        login, patient):
    factories.make_message(patient, body="Reminder: cleaning Tue 9:00 at Lakeside",
                           provider_message_id="SM" + "1" * 32, created_at=T0)
    factories.make_message(patient, direction="inbound", body="Can I come at 10 instead?",
                           provider_message_id="SM" + "2" * 32,
                           created_at=T0 + timedelta(minutes=5))
    factories.make_message(patient, body="Your balance is due", status="suppressed",
                           status_reason="no billing consent for sms",
                           created_at=T0 + timedelta(minutes=10))
    factories.make_message(patient, body="See you soon", status="failed", error_code="30003",
                           status_reason="30003: unreachable handset",
                           created_at=T0 + timedelta(minutes=15))

    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    log = _log_section(page)

    bodies = ["See you soon", "Your balance is due", "Can I come at 10 instead?",
              "Reminder: cleaning Tue 9:00 at Lakeside"]
    assert [log.index(b) for b in bodies] == sorted(log.index(b) for b in bodies)  # newest first
    assert "no consent to billing by text message" in log and "Suppressed" in log
    assert "Error 30003" in log and "Failed" in log
    assert "SM" + "1" * 32 in log and "SM" + "2" * 32 in log
    assert log.count(">In</span>") == 1 and log.count(">Out</span>") == 3


def test_times_are_shown_in_the_zone_of_the_location_the_patient_visits(login, practice,
                                                                        patient):
    location = factories.make_location(practice, timezone="America/Denver", state="CO")
    provider = factories.make_provider(practice, locations=[location])
    factories.make_appointment(patient, provider, location)
    factories.make_message(patient, body="Reminder", created_at=T0)

    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    assert local_when(T0.astimezone(ZoneInfo("America/Denver"))) in _log_section(page)


def test_household_messages_on_the_shared_phone_are_in_every_members_log(login, practice):
    mother = factories.make_patient(practice, mobile_phone="+13125550160")
    son = factories.make_patient(practice, mobile_phone="+13125550160")
    stranger = factories.make_patient(practice, mobile_phone="+13125550161")
    shared = conversations.get_or_create(practice_id=practice.id, channel="sms",
                                         address="+13125550160",
                                         patient_ids=[mother.id, son.id])
    db.session.commit()
    factories.make_message(None, practice=practice, direction="inbound",
                           body="Which of us is booked Friday?", address="+13125550160",
                           conversation_id=shared.id)
    factories.make_message(son, body="Reminder for the son")
    factories.make_message(stranger, body="Someone else's reminder")

    client = login("front_desk")
    mothers = _log_section(client.get(f"/patients/{mother.id}").get_data(as_text=True))
    sons = _log_section(client.get(f"/patients/{son.id}").get_data(as_text=True))
    assert "Which of us is booked Friday?" in mothers and "Which of us is booked Friday?" in sons
    assert "Reminder for the son" in sons and "Reminder for the son" not in mothers
    assert "Someone else" not in mothers + sons


def test_the_log_pages_by_25_with_older_messages_fetched_by_htmx(login, patient):
    for n in range(30):
        factories.make_message(patient, body=f"Message number {n:02d}.",
                               created_at=T0 + timedelta(minutes=n))
    client = login("front_desk")

    first = _log_section(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    shown = re.findall(r"Message number (\d\d)\.", first)
    assert shown == [f"{n:02d}" for n in range(29, 4, -1)]
    assert f'hx-get="/patients/{patient.id}/messages?page=2"' in first

    more = client.get(f"/patients/{patient.id}/messages?page=2", headers={"HX-Request": "true"})
    rows = more.get_data(as_text=True)
    assert more.status_code == 200 and "<html" not in rows  # a fragment of table rows
    assert re.findall(r"Message number (\d\d)\.", rows) == ["04", "03", "02", "01", "00"]
    assert "page=3" not in rows

    full = client.get(f"/patients/{patient.id}/messages?page=2").get_data(as_text=True)
    assert "<html" in full and "Message number 04." in full and "Newer messages" in full


def test_a_page_number_below_one_is_refused(login, patient):
    response = login("front_desk").get(f"/patients/{patient.id}/messages?page=0")
    assert response.status_code == 400
    assert "page: use a whole number from 1 to 10000." in response.get_data(as_text=True)


def test_reading_the_log_is_audited_with_the_messages_shown(login, patient):
    shown = [factories.make_message(patient, body="Hi", created_at=T0 + timedelta(minutes=n),
                                    purpose="billing") for n in range(3)]
    factories.make_message(patient, body="Not billing")  # not for the billing role's eyes

    login("billing").get(f"/patients/{patient.id}/messages")

    (event,) = _events("conversation.view")
    assert event.patient_id == patient.id and event.actor_role == "billing"
    assert json.loads(event.detail) == {"page": 1, "message_ids": [m.id for m in shown]}
    assert "Hi" not in event.detail


def test_marketing_cannot_open_a_patients_messages(login, patient):
    factories.make_message(patient, body="Private reminder")
    client = login("marketing")
    for url in (f"/patients/{patient.id}", f"/patients/{patient.id}/messages"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Private reminder" not in response.get_data(as_text=True)
    assert _events("conversation.view") == []


def test_another_practices_patient_is_not_found(login, patient):
    other = factories.make_patient(factories.make_practice(name="Other Clinic"))
    assert login("front_desk").get(f"/patients/{other.id}/messages").status_code == 404


def test_the_carrier_message_id_is_named_for_what_it_is_behind_a_details_toggle(login,
                                                                             patient):
    factories.make_message(patient, body="Reminder", provider_message_id="SM" + "3" * 32,
                           created_at=T0)

    log = _log_section(login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True))
    assert "Provider id" not in log and "<th>Provider" not in log  # staff read it as the dentist
    details = log[log.index('<details class="carrier-id">'):]
    details = details[:details.index("</details>")]
    assert "Carrier message id" in details and "SM" + "3" * 32 in details


def test_one_visit_one_zone_conversations_and_log_both_in_the_visits_zone(login, practice,
                                                                          patient):
    location = factories.make_location(practice, timezone="America/Denver", state="CO")
    provider = factories.make_provider(practice, locations=[location])
    factories.make_appointment(patient, provider, location)
    conversation = conversations.get_or_create(practice_id=practice.id, channel="sms",
                                               address=patient.mobile_phone,
                                               patient_ids=[patient.id])
    conversation.last_message_at = T0
    db.session.commit()
    factories.make_message(patient, body="Reminder", created_at=T0,
                           conversation_id=conversation.id)

    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    denver = local_when(T0.astimezone(ZoneInfo("America/Denver")))
    chicago = local_when(T0.astimezone(ZoneInfo(practice.timezone)))
    assert denver.endswith("MST") and page.count(denver) == 2  # conversation list and log
    assert chicago not in page
