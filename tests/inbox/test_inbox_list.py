"""The inbox list and thread: unread per staff member, filters, search without PHI in the URL,
cursor pages, reopen on a new text, and what opening a conversation audits."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.inbox import queries
from app.messaging.models import Conversation
from app.security.models import AuditEvent, StaffSession
from tests import factories
from tests.inbox.conftest import PATIENT_PHONE, WEBHOOK_SETTINGS, conversation_id, text_in

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


def test_a_new_text_is_unread_for_every_staff_member_until_each_opens_it(
        client, patient, staff_client):
    text_in(client, "Can I move my cleaning?")
    _, alice = staff_client()
    _, bob = staff_client()
    page = alice.get("/inbox?view=unread").get_data(as_text=True)
    assert patient.full_name in page and "Can I move my cleaning?" in page
    assert "(1) Inbox" in page
    opened = alice.get(f"/inbox/c/{conversation_id()}")
    assert opened.status_code == 200
    assert "Can I move my cleaning?" in opened.get_data(as_text=True)
    assert patient.full_name not in alice.get("/inbox?view=unread").get_data(as_text=True)
    assert patient.full_name in bob.get("/inbox?view=unread").get_data(as_text=True)
    # the home page's count is each staff member's own, and a way in
    def home_count(client) -> str:
        page = client.get("/").get_data(as_text=True)
        assert "/inbox?view=unread" in page
        return re.search(r'Unread conversations</a></p>\s*<p class="stat-value">(\S+)</p>',
                         page).group(1)

    assert (home_count(alice), home_count(bob)) == ("0", "1")


def test_the_list_shows_last_activity_in_the_practices_zone(client, patient, practice,
                                                            staff_client):
    text_in(client, "What time do you open?")
    _, alice = staff_client()
    page = alice.get("/inbox").get_data(as_text=True)
    when = re.search(r'<small class="muted inbox-when">([^<]+)</small>', page).group(1)
    local = utcnow().astimezone(ZoneInfo(practice.timezone))
    assert when.endswith(f"{local.hour % 12 or 12}:{local:%M}\u202f{local:%p} {local:%Z}") \
        or when.endswith(f"{local.hour % 12 or 12}:{local:%M} {local:%p} {local:%Z}"), when
    assert "UTC" not in when


def test_opening_a_conversation_is_audited_with_its_patients(client, patient, staff_client):
    text_in(client, "Hello")
    _, alice = staff_client()
    alice.get(f"/inbox/c/{conversation_id()}")
    views = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "conversation.view",
        AuditEvent.object_type == "conversation")).scalars().all()
    assert [v.patient_id for v in views] == [patient.id]


def test_a_new_text_reopens_a_closed_or_snoozed_conversation(client, patient, staff_client):
    text_in(client, "First")
    cid = conversation_id()
    _, alice = staff_client()
    alice.post(f"/inbox/c/{cid}/status", data={"status": "closed"})
    assert patient.full_name not in alice.get("/inbox").get_data(as_text=True)
    assert patient.full_name in alice.get("/inbox?status=closed").get_data(as_text=True)
    text_in(client, "Second")
    assert patient.full_name in alice.get("/inbox").get_data(as_text=True)
    later = (utcnow() + timedelta(days=2)).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Chicago"))
    response = alice.post(f"/inbox/c/{cid}/status", data={
        "status": "snoozed", "zone": "America/Chicago",
        "until": later.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    assert patient.full_name in alice.get("/inbox?status=snoozed").get_data(as_text=True)
    assert patient.full_name not in alice.get("/inbox").get_data(as_text=True)
    text_in(client, "Third")
    assert patient.full_name in alice.get("/inbox").get_data(as_text=True)


def test_snoozing_into_the_past_is_refused_by_name(client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    earlier = utcnow() - timedelta(hours=2)
    response = alice.post(f"/inbox/c/{conversation_id()}/status", data={
        "status": "snoozed", "zone": "UTC", "until": earlier.strftime("%Y-%m-%dT%H:%M")},
        follow_redirects=True)
    assert "Choose a time in the future." in response.get_data(as_text=True)
    assert db.session.get(Conversation, conversation_id()).snoozed_until is None


def test_mine_unassigned_and_team_filters(client, patient, practice, staff_client):
    other = factories.make_patient(practice, given_name="Noah", mobile_phone="+13125550199")
    text_in(client, "Mine please")
    text_in(client, "Someone else", sender="+13125550199")
    me, alice = staff_client()
    mine = db.session.execute(select(Conversation.id).where(
        Conversation.contact_index != "x").order_by(Conversation.id)).scalars().first()
    alice.post(f"/inbox/c/{mine}/assign", data={"assign": "me"})
    assert patient.full_name in alice.get("/inbox?view=mine").get_data(as_text=True)
    assert other.full_name not in alice.get("/inbox?view=mine").get_data(as_text=True)
    assert other.full_name in alice.get("/inbox?view=unassigned").get_data(as_text=True)
    assert patient.full_name not in alice.get("/inbox?view=unassigned").get_data(as_text=True)
    alice.post(f"/inbox/c/{mine}/assign", data={"assign": "team:billing"})
    billing_list = alice.get("/inbox?team=billing").get_data(as_text=True)
    assert patient.full_name in billing_list and other.full_name not in billing_list
    assert alice.get("/inbox?view=everything").status_code == 400


def test_round_robin_assigns_the_least_busy_member_of_the_team(client, practice, staff_client):
    first, alice = staff_client()
    second = factories.make_staff(practice, role="front_desk")
    text_in(client, "one", sender="+13125550181")
    text_in(client, "two", sender="+13125550182")
    ids = db.session.execute(select(Conversation.id).order_by(Conversation.id)).scalars().all()
    for cid in ids:
        alice.post(f"/inbox/c/{cid}/assign", data={"assign": "next:front_desk"})
    assigned = db.session.execute(select(Conversation.assigned_staff_id)
                                  .order_by(Conversation.id)).scalars().all()
    assert sorted(assigned) == sorted([first.id, second.id])


def test_a_likely_opt_out_needs_action_until_answered(client, patient, staff_client):
    text_in(client, "please stop texting me")
    text_in(client, "Just a question", sender="+13125550177")
    _, alice = staff_client()
    flagged = alice.get("/inbox?needs=1").get_data(as_text=True)
    assert patient.full_name in flagged and "Just a question" not in flagged
    cid = db.session.execute(select(Conversation.id).order_by(Conversation.id)).scalars().first()
    alice.post(f"/inbox/c/{cid}/status", data={"status": "closed"})
    assert patient.full_name not in alice.get(
        "/inbox?needs=1&status=closed").get_data(as_text=True)


def test_search_by_phone_keeps_the_number_out_of_the_url(client, patient, staff_client):
    text_in(client, "Found me")
    text_in(client, "Not me", sender="+13125550188")
    _, alice = staff_client()
    response = alice.post("/inbox/search", data={"q": "(312) 555-0147"})
    location = response.headers["Location"]
    assert "555" not in location and "0147" not in location
    page = alice.get(location).get_data(as_text=True)
    assert "Found me" in page and "Not me" not in page
    # the token is this staff member's only
    _, bob = staff_client()
    assert bob.get(location).status_code == 400


def test_search_by_name_and_birth_date(client, patient, staff_client):
    text_in(client, "By name")
    _, alice = staff_client()
    location = alice.post("/inbox/search", data={"q": patient.family_name}).headers["Location"]
    assert patient.family_name not in location
    assert "By name" in alice.get(location).get_data(as_text=True)
    location = alice.post("/inbox/search", data={
        "q": patient.date_of_birth.isoformat()}).headers["Location"]
    assert "By name" in alice.get(location).get_data(as_text=True)


def test_cursor_pages_walk_every_conversation_once(client, practice, staff_client):
    for n in range(queries.PAGE_SIZE + 5):
        text_in(client, f"msg {n}", sender=f"+1312555{1000 + n:04d}")
    _, alice = staff_client()
    first = alice.get("/inbox").get_data(as_text=True)
    cursor = re.search(r'after=([A-Za-z0-9_-]+)', first).group(1)
    second = alice.get(f"/inbox?after={cursor}", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    seen = re.findall(r'data-conversation="(\d+)"', first) + re.findall(
        r'data-conversation="(\d+)"', second)
    assert len(seen) == len(set(seen)) == queries.PAGE_SIZE + 5
    assert alice.get("/inbox?after=not-a-cursor").status_code == 400


def test_live_refresh_is_not_activity_for_the_idle_sign_out(client, patient, staff_client):
    text_in(client, "hello")
    user, alice = staff_client()
    before = db.session.execute(select(StaffSession.last_seen_at).where(
        StaffSession.user_id == user.id)).scalar_one()
    db.session.execute(StaffSession.__table__.update().values(
        last_seen_at=before - timedelta(minutes=5)))
    db.session.commit()
    live = alice.get("/inbox/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "<title>(1) Inbox" in live.get_data(as_text=True)
    alice.get(f"/inbox/c/{conversation_id()}/live", headers={"HX-Request": "true"})
    after = db.session.execute(select(StaffSession.last_seen_at).where(
        StaffSession.user_id == user.id)).scalar_one()
    assert after == before - timedelta(minutes=5)
    alice.get("/inbox")
    assert db.session.execute(select(StaffSession.last_seen_at).where(
        StaffSession.user_id == user.id)).scalar_one() > after


def test_the_billing_and_marketing_roles_cannot_open_the_inbox(client, patient, staff_client):
    text_in(client, "hello")
    for role in ("billing", "marketing"):
        _, other = staff_client(role)
        assert other.get("/inbox").status_code == 403
        assert other.get(f"/inbox/c/{conversation_id()}").status_code == 403


def test_another_practices_conversation_is_not_found(client, patient, staff_client):
    text_in(client, "hello")
    second = factories.make_practice(name="Other Dental", sms_from_number="+13125550155")
    _, stranger = staff_client()
    outsider = factories.make_staff(second)
    other_client = client.application.test_client()
    other_client.post("/sign-in", data={"email": outsider.email,
                                        "password": factories.STAFF_PASSWORD})
    assert other_client.get(f"/inbox/c/{conversation_id()}").status_code == 404
    assert PATIENT_PHONE not in other_client.get("/inbox").get_data(as_text=True)
