"""A conversation's thread and composer: replies through the outbox (once per form), send
later and cancel, internal notes, canned replies, opt-out and quiet hours, escaping, presence."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.inbox.models import CannedReply
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.models import Direction, Message, MessageStatus
from app.security.models import AuditEvent
from tests import factories
from tests.inbox.conftest import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    conversation_id,
    staff_replies,
    text_in,
)
from tests.messaging.signed_webhooks import PUBLIC_BASE_URL

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)
TOKEN = "a" * 24


def test_a_reply_goes_to_the_outbox_once_per_form(client, patient, staff_client):
    text_in(client, "Is parking free?")
    user, alice = staff_client()
    cid = conversation_id()
    for _ in range(2):  # a double click
        response = alice.post(f"/inbox/c/{cid}/reply", data={"body": "Yes, it is.",
                                                             "token": TOKEN})
        assert response.status_code == 302
    [reply] = staff_replies()
    assert (reply.body, reply.status, reply.conversation_id) == ("Yes, it is.", "scheduled", cid)
    assert reply.address == PATIENT_PHONE and reply.sent_by_staff_id == user.id
    assert reply.patient_id == patient.id
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "message.send", AuditEvent.patient_id == patient.id)).first()
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "Yes, it is." in page and "Scheduled" in page


def test_an_empty_reply_is_refused_by_name_and_nothing_is_queued(client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    response = alice.post(f"/inbox/c/{conversation_id()}/reply",
                          data={"body": "  ", "token": TOKEN}, follow_redirects=True)
    assert "Write the reply first." in response.get_data(as_text=True)
    assert staff_replies() == []


def test_send_later_is_kept_in_the_outbox_and_can_be_cancelled(client, patient, staff_client):
    text_in(client, "Call me tomorrow")
    _, alice = staff_client()
    cid = conversation_id()
    later = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    alice.post(f"/inbox/c/{cid}/reply", data={
        "body": "Reminder: we open at 8.", "token": TOKEN, "zone": "America/Chicago",
        "send_at": later.strftime("%Y-%m-%dT%H:%M")})
    [reply] = staff_replies()
    assert reply.send_at == later.replace(second=0, microsecond=0)
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "Cancel this scheduled reply" in page
    alice.post(f"/inbox/c/{cid}/messages/{reply.id}/cancel")
    db.session.refresh(reply)
    assert reply.status == MessageStatus.CANCELLED
    assert "Reminder: we open at 8." not in alice.get(f"/inbox/c/{cid}").get_data(as_text=True)


def test_a_send_time_in_the_past_is_refused(client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    response = alice.post(f"/inbox/c/{conversation_id()}/reply", data={
        "body": "x", "token": TOKEN, "zone": "UTC",
        "send_at": (utcnow() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")},
        follow_redirects=True)
    assert "Choose a time from now to 90 days ahead." in response.get_data(as_text=True)
    assert staff_replies() == []


def test_a_send_time_in_a_made_up_zone_is_refused_not_a_500(client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    for zone in ("Mars/Olympus", "../../etc/passwd"):
        response = alice.post(f"/inbox/c/{conversation_id()}/reply", data={
            "body": "x", "token": TOKEN, "zone": zone, "send_at": "2031-01-01T09:00"},
            follow_redirects=True)
        assert response.status_code == 422
        assert "Reload the page and choose the time again." in response.get_data(as_text=True)
    assert staff_replies() == []


def test_an_internal_note_shows_as_a_note_and_is_never_sent(client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    cid = conversation_id()
    alice.post(f"/inbox/c/{cid}/note", data={"note": "Called her, left a voicemail"})
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "Internal note" in page and "Called her, left a voicemail" in page
    assert db.session.execute(select(Message).where(
        Message.direction == Direction.OUTBOUND)).first() is None


def test_a_reply_left_for_staff_shows_what_it_likely_asks(client, patient, staff_client):
    """A reply an intent handler (journeys) could not act on alone is marked for staff with
    its likely action; the thread says both."""
    text_in(client, "can we do friday instead")
    reply = db.session.execute(select(Message)).scalar_one()
    reply.needs_staff_action, reply.suggested_action = True, "reschedule"
    db.session.commit()
    _, alice = staff_client()
    page = alice.get(f"/inbox/c/{conversation_id()}").get_data(as_text=True)
    assert "Needs action" in page and "Likely: move the visit" in page


def test_a_patients_html_and_script_show_as_text(client, patient, staff_client):
    text_in(client, '<script>alert("x")</script><b>bold</b>')
    _, alice = staff_client()
    for url in ("/inbox", f"/inbox/c/{conversation_id()}"):
        page = alice.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<b>bold</b>" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page


def test_an_opted_out_number_disables_the_sms_composer_with_the_reason(
        client, patient, staff_client):
    text_in(client, "STOP")
    _, alice = staff_client()
    cid = conversation_id()
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "This number opted out of texts" in page
    assert re.search(r'<textarea id="reply-body"[^>]*disabled', page)
    alice.post(f"/inbox/c/{cid}/reply", data={"body": "Are you sure?", "token": TOKEN})
    assert staff_replies() == []


def test_quiet_hours_warn_and_offer_the_windows_opening(client, practice, patient,
                                                        staff_client):
    text_in(client, "Hi")
    zone = ZoneInfo("America/Chicago")
    local = utcnow().astimezone(zone)
    quiet = not (practice.send_window_start <= local.time() < practice.send_window_end)
    _, alice = staff_client()
    page = alice.get(f"/inbox/c/{conversation_id()}").get_data(as_text=True)
    assert ("It is quiet hours for this patient" in page) is quiet
    if quiet:
        offered = re.search(r'name="send_at" value="([0-9T:-]+)"', page).group(1)
        assert offered.endswith(practice.send_window_start.strftime("%H:%M"))


def test_a_canned_reply_is_filled_for_the_patient(client, practice, patient, staff_client,
                                                  login):
    manager = login("manager")
    response = manager.post("/inbox/canned", data={
        "title": "Parking",
        "body": "Hi {first_name}, call us at {practice_phone} or book at {booking_link}"})
    assert response.status_code == 302
    refused = manager.post("/inbox/canned", data={"title": "Bad", "body": "Hi {name}"})
    assert refused.status_code == 400 and "Unknown variable {name}" in refused.get_data(
        as_text=True)
    text_in(client, "Where do I park?")
    _, alice = staff_client()
    assert alice.get("/inbox/canned").status_code == 403
    reply_id = db.session.execute(select(CannedReply.id)).scalar_one()
    filled = alice.get(f"/inbox/c/{conversation_id()}/canned?canned={reply_id}")
    assert (f"Hi Olivia, call us at (312) 555-0100 or book at {PUBLIC_BASE_URL}/book/"
            in filled.get_data(as_text=True))


def test_two_staff_in_one_conversation_see_each_other(client, patient, staff_client):
    text_in(client, "Hi")
    cid = conversation_id()
    alice_user, alice = staff_client()
    bob_user, bob = staff_client()
    alice.get(f"/inbox/c/{cid}")
    page = bob.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert f"{alice_user.display_name} is viewing this conversation." in page
    live = alice.get(f"/inbox/c/{cid}/live?typing=1", headers={"HX-Request": "true"})
    assert f"{bob_user.display_name} is viewing" in live.get_data(as_text=True)
    live = bob.get(f"/inbox/c/{cid}/live", headers={"HX-Request": "true"})
    assert f"{alice_user.display_name} is typing a reply" in live.get_data(as_text=True)


def test_the_thread_merges_email_and_automated_reminders_in_time_order(
        client, practice, patient, staff_client):
    text_in(client, "Which day was it?")
    start = utcnow()
    factories.make_message(patient, body="Reminder: your visit tomorrow", template="reminder",
                           purpose="appointment", created_at=start - timedelta(hours=2),
                           sent_at=start - timedelta(hours=2))
    factories.make_message(patient, channel="email", body="Your visit is confirmed",
                           address=patient.email, created_at=start - timedelta(hours=1),
                           sent_at=start - timedelta(hours=1))
    _, alice = staff_client()
    page = alice.get(f"/inbox/c/{conversation_id()}").get_data(as_text=True)
    page = page.split('id="thread-live"', 1)[1]
    positions = [page.index(text) for text in (
        "Reminder: your visit tomorrow", "Your visit is confirmed", "Which day was it?")]
    assert positions == sorted(positions)
    assert "Automated" in page


def test_opted_out_state_comes_from_the_ledger(client, patient, practice, staff_client):
    text_in(client, "Hello")
    consent.record(practice_id=practice.id, channel="sms",
                   contact_index=contact_index("sms", PATIENT_PHONE), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.CARRIER)
    db.session.commit()
    _, alice = staff_client()
    page = alice.get(f"/inbox/c/{conversation_id()}").get_data(as_text=True)
    assert "This number opted out of texts (Carrier block)" in page


def test_the_patient_panel_shows_visits_and_confirms_one(client, practice, patient,
                                                         staff_client):
    location = factories.make_location(practice, name="Lakeside North")
    provider = factories.make_provider(practice, locations=[location])
    visit = factories.make_appointment(patient, provider, location,
                                       start_at=utcnow() + timedelta(days=3))
    past = factories.make_appointment(patient, provider, location,
                                      start_at=utcnow() - timedelta(days=30),
                                      status="fulfilled")
    text_in(client, "Yes I'll be there")
    _, alice = staff_client()
    cid = conversation_id()
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    panel = page.split('class="patient-panel"', 1)[1]
    assert "Upcoming visits" in panel and "Lakeside North" in panel
    assert f"/schedule/appointments/{visit.id}" in panel
    response = alice.post(f"/inbox/c/{cid}/visits/{visit.id}/confirm")
    assert response.status_code == 302
    db.session.refresh(visit)
    assert visit.patient_status == "accepted"
    assert "Confirmed" in alice.get(f"/inbox/c/{cid}").get_data(as_text=True).split(
        'class="patient-panel"', 1)[1]
    # a past visit, or one of another patient, is not confirmed from here
    assert alice.post(f"/inbox/c/{cid}/visits/{past.id}/confirm").status_code == 404
