"""The consent panel on a patient's record, staff consent changes (always with a reason), and
the one-click decision on a text that reads like "please stop texting me"."""

from __future__ import annotations

import json
import re
from datetime import time

import pytest
from sqlalchemy import select

from app.adapters.email.console import ConsoleEmail
from app.adapters.sms.console import ConsoleSms
from app.extensions import db
from app.messaging import consent, dispatcher, inbound, outbox, policy
from app.messaging.conversations import contact_index
from app.messaging.models import ConsentEntry, Message, MessageStatus, Purpose
from app.security.models import AuditEvent
from tests import factories
from tests.factories import DEPLOYMENT_NUMBER

MOBILE = "+13125550147"


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, given_name="Rosa", mobile_phone=MOBILE,
                                  email="rosa@example.com")


def _cell(page: str, channel: str, group: str) -> str:
    found = re.search(rf'data-consent="{channel}-{group}">\s*<span class="badge [\w-]+">(\w+)<',
                      page)
    assert found, f"no consent cell for {channel} {group}"
    return found.group(1)


def _entries() -> list[ConsentEntry]:
    db.session.expire_all()
    return list(db.session.execute(select(ConsentEntry).order_by(ConsentEntry.id)).scalars())


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


def _revoke_all(patient, source: str, channel: str = "sms") -> None:
    address = patient.mobile_phone if channel == "sms" else patient.email
    consent.record(practice_id=patient.practice_id, channel=channel,
                   contact_index=contact_index(channel, address), purpose=consent.ALL,
                   granted=False, source=source, patient_id=patient.id)
    db.session.commit()


# -- the panel ---------------------------------------------------------------------------------

def test_panel_shows_transactional_on_and_billing_and_marketing_off_until_granted(login,
                                                                                  patient):
    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    for channel in ("sms", "email"):
        assert _cell(page, channel, "transactional") == "On"
        assert _cell(page, channel, "billing") == "Off"
        assert _cell(page, channel, "marketing") == "Off"
    assert "No consent changes recorded." in page
    (event,) = _events("consent.view")
    assert event.patient_id == patient.id


def test_a_number_the_carrier_blocks_never_shows_on(login, patient):
    _revoke_all(patient, consent.ConsentSource.CARRIER)

    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    assert [_cell(page, "sms", g) for g in ("transactional", "billing", "marketing")] == [
        "Off", "Off", "Off"]
    assert "Opted out: Carrier block" in page
    assert _cell(page, "email", "transactional") == "On"


def test_an_unusable_contact_point_is_a_warning(login, practice, patient):
    policy.flag_unusable(practice_id=practice.id, channel="sms", address=MOBILE,
                         reason="landline", code="21635")
    db.session.commit()

    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Texts cannot reach (312) 555-0147: a landline." in page
    assert "Error 21635" in page


# -- staff changes -----------------------------------------------------------------------------

def test_a_consent_change_needs_a_reason_and_records_nothing_without_one(login, patient):
    response = login("front_desk").post(f"/patients/{patient.id}/consent", data={
        "channel": "sms", "purpose": "marketing", "granted": "yes", "reason": "   "})

    assert response.status_code == 200
    assert "Say why consent changes" in response.get_data(as_text=True)
    assert _entries() == []


def test_a_consent_change_is_recorded_with_staff_and_reason_and_shown_in_history(
        login, practice, patient):
    client = login("front_desk")
    response = client.post(f"/patients/{patient.id}/consent", data={
        "channel": "sms", "purpose": "marketing", "granted": "yes",
        "reason": "Patient opted in to marketing texts in the office"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{patient.id}#consent")
    (entry,) = _entries()
    assert (entry.channel, entry.purpose, entry.granted, entry.source) == (
        "sms", "marketing", True, "staff")
    assert entry.reason == "Patient opted in to marketing texts in the office"
    assert entry.staff_id is not None and entry.patient_id == patient.id
    assert [e.patient_id for e in _events("consent.change")] == [patient.id]

    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert _cell(page, "sms", "marketing") == "On"
    assert _cell(page, "email", "marketing") == "Off"
    history = page[page.index("Consent history"):]
    assert "Patient opted in to marketing texts in the office" in history
    assert "Test front_desk" in history  # the staff member's name


def test_stopping_transactional_texts_stops_appointments_replies_and_automatic_texts(
        login, patient):
    login("front_desk").post(f"/patients/{patient.id}/consent", data={
        "channel": "sms", "purpose": "transactional", "granted": "no",
        "reason": "Patient asked by phone to stop texts"})

    assert sorted(e.purpose for e in _entries()) == ["appointment", "conversation", "system"]
    state = consent.state(practice_id=patient.practice_id, channel="sms",
                          contact_index=contact_index("sms", MOBILE),
                          purpose=Purpose.APPOINTMENT)
    assert not state.allowed


@pytest.mark.parametrize("source", [consent.ConsentSource.KEYWORD,
                                    consent.ConsentSource.CARRIER])
def test_staff_cannot_undo_a_stop_the_carrier_enforces(login, patient, source):
    _revoke_all(patient, source)
    response = login("front_desk").post(f"/patients/{patient.id}/consent", data={
        "channel": "sms", "purpose": "all", "granted": "yes",
        "reason": "Patient says they want texts again"})

    assert "Only the patient can undo this opt-out" in response.get_data(as_text=True)
    assert len(_entries()) == 1  # only the revocation


def test_staff_can_undo_an_opt_out_staff_recorded(login, patient):
    _revoke_all(patient, consent.ConsentSource.STAFF)
    client = login("front_desk")
    client.post(f"/patients/{patient.id}/consent", data={
        "channel": "sms", "purpose": "all", "granted": "yes",
        "reason": "The stop request was about a different practice"})

    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert _cell(page, "sms", "transactional") == "On"


def test_a_channel_the_patient_has_no_address_for_is_refused(login, practice):
    no_email = factories.make_patient(practice, email=None)
    response = login("front_desk").post(f"/patients/{no_email.id}/consent", data={
        "channel": "email", "purpose": "marketing", "granted": "yes", "reason": "Asked"})

    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _entries() == []


def test_staff_who_may_only_view_see_the_panel_but_cannot_change_it(login, patient):
    client = login("billing")
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert _cell(page, "sms", "transactional") == "On"
    assert "Change consent" not in page
    response = client.post(f"/patients/{patient.id}/consent", data={
        "channel": "sms", "purpose": "all", "granted": "no", "reason": "Asked"})
    assert response.status_code == 403
    assert _entries() == []


# -- likely opt-outs ---------------------------------------------------------------------------

@pytest.fixture
def flagged(patient):
    result = inbound.receive_sms(message_sid="SM" + "7" * 32, sender=MOBILE,
                                 body="Please stop texting me", to=DEPLOYMENT_NUMBER)
    assert result.outcome == inbound.Outcome.LIKELY_OPT_OUT
    return db.session.get(Message, result.message_id)


BANNER = "This message may be a request to stop texts"


def test_a_likely_opt_out_shows_a_banner_with_the_actions(login, patient, flagged):
    page = login("front_desk").get(f"/patients/{patient.id}").get_data(as_text=True)
    banner = page[page.index("opt-out-banner"):page.index("</aside>")]
    assert BANNER in banner and "Please stop texting me" in banner
    assert f"/patients/{patient.id}/messages/{flagged.id}/opt-out" in banner
    assert f"/patients/{patient.id}/messages/{flagged.id}/not-opt-out" in banner
    assert BANNER in page[page.index('id="messages"'):]  # and on its row in the log


def test_honouring_a_likely_opt_out_stops_the_next_text(login, practice, patient, flagged):
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()
    client = login("front_desk")

    response = client.post(f"/patients/{patient.id}/messages/{flagged.id}/opt-out")

    assert response.status_code == 302
    (entry,) = _entries()
    assert (entry.channel, entry.purpose, entry.granted, entry.source) == (
        "sms", "all", False, "staff")
    assert entry.reason == f"honoured free-text request: message #{flagged.id}"
    assert entry.message_id == flagged.id and entry.staff_id is not None
    assert db.session.get(Message, flagged.id).status_reason == "likely_opt_out_honoured"
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert BANNER not in page and "Opted out: Staff" in page

    reminder = outbox.enqueue(practice_id=practice.id, patient_id=patient.id, channel="sms",
                              purpose=Purpose.APPOINTMENT, template="help_reply",
                              idempotency_key="reminder:after-opt-out")
    db.session.commit()
    stats = dispatcher.run_once(dispatcher.Providers(sms=ConsoleSms(), email=ConsoleEmail(),
                                                     public_base_url="http://localhost"))
    db.session.expire_all()
    assert stats.suppressed == 1 and stats.sent == 0
    assert db.session.get(Message, reminder.id).status == MessageStatus.SUPPRESSED

    again = client.post(f"/patients/{patient.id}/messages/{flagged.id}/opt-out",
                        follow_redirects=True)
    assert "no longer waiting for a decision" in again.get_data(as_text=True)
    assert len(_entries()) == 1


def test_not_an_opt_out_clears_the_flag_and_changes_no_consent(login, patient, flagged):
    client = login("front_desk")
    client.post(f"/patients/{patient.id}/messages/{flagged.id}/not-opt-out")

    assert _entries() == []
    assert db.session.get(Message, flagged.id).status_reason == "likely_opt_out_dismissed"
    (event,) = _events("message.review")
    assert event.patient_id == patient.id and event.object_id == str(flagged.id)
    assert json.loads(event.detail)["decision"] == "likely_opt_out_dismissed"
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert BANNER not in page and "Not an opt-out" in page  # the row keeps the decision
    assert _cell(page, "sms", "transactional") == "On"


def test_a_message_outside_the_patients_log_cannot_be_actioned(login, practice, patient,
                                                               flagged):
    other = factories.make_patient(practice, mobile_phone="+13125550999")
    response = login("front_desk").post(f"/patients/{other.id}/messages/{flagged.id}/opt-out")
    assert response.status_code == 302
    assert _entries() == []
    assert db.session.get(Message, flagged.id).status_reason == "likely_opt_out"


def test_billing_sees_the_flag_but_cannot_act_on_it(login, patient, flagged):
    client = login("billing")
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert BANNER in page and "/opt-out" not in page
    assert client.post(f"/patients/{patient.id}/messages/{flagged.id}/opt-out"
                       ).status_code == 403
    assert _entries() == []
