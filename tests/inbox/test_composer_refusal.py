"""A refused reply keeps what the staff member typed and chose (text, send-later time, canned
reply, form token), each reason beside its field, as a plain form post (the whole page, 422)
and with htmx (the composer section, a 200 so htmx swaps it in; a reply that goes is a 204
with HX-Redirect). An email reply's subject is in the patient's language, not the staff
member's."""

from __future__ import annotations

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.core.clock import utcnow
from app.extensions import db
from app.inbox.models import CannedReply
from app.messaging import conversations
from tests import factories
from tests.inbox.conftest import WEBHOOK_SETTINGS, conversation_id, staff_replies, text_in

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)
TOKEN = "c" * 24
HTMX = {"HX-Request": "true"}


def textarea(page: str) -> str:
    return re.search(r'<textarea id="reply-body"[^>]*>(.*?)</textarea>', page, re.S).group(1)


def test_a_refused_reply_comes_back_as_typed_with_the_reason_by_each_field(
        client, practice, patient, staff_client):
    canned = CannedReply(practice_id=practice.id, title="Parking", body="Parking is free.")
    db.session.add(canned)
    db.session.commit()
    text_in(client, "Is parking free?")
    _, alice = staff_client()
    cid = conversation_id()
    typed = "Parking is free <b>behind</b> the building & the clinic."
    past = (utcnow() - timedelta(hours=2)).astimezone(ZoneInfo("America/Chicago"))
    response = alice.post(f"/inbox/c/{cid}/reply", data={
        "body": typed, "token": TOKEN, "zone": "America/Chicago", "canned": str(canned.id),
        "send_at": past.strftime("%Y-%m-%dT%H:%M"), "view": "mine"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert textarea(page) == ("Parking is free &lt;b&gt;behind&lt;/b&gt; the building &amp; "
                              "the clinic.")
    assert 'class="send-later" open' in page
    assert f'name="send_at" value="{past.strftime("%Y-%m-%dT%H:%M")}" aria-invalid="true"' in page
    assert ('<small id="send-at-error" class="field-error">Choose a time from now to 90 days '
            'ahead.</small>') in page
    assert f'<option value="{canned.id}" selected>Parking</option>' in page
    assert f'name="token" value="{TOKEN}"' in page  # the same form: still one message at most
    assert '<input type="hidden" name="view" value="mine">' in page  # the list as it was
    assert "The reply was not sent: see the reasons below." in page
    assert staff_replies() == []

    empty = alice.post(f"/inbox/c/{cid}/reply", data={"body": " ", "token": TOKEN})
    assert empty.status_code == 422
    assert re.search(r'<textarea id="reply-body"[^>]*aria-invalid="true" '
                     r'aria-describedby="reply-body-error"', empty.get_data(as_text=True))
    assert ('<small id="reply-body-error" class="field-error">Write the reply first.</small>'
            in empty.get_data(as_text=True))

    sent = alice.post(f"/inbox/c/{cid}/reply", data={"body": typed, "token": TOKEN})
    assert sent.status_code == 302
    assert [m.body for m in staff_replies()] == [typed]


def test_a_reply_too_long_keeps_the_text_and_a_lost_token_gets_a_new_one(
        client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    cid = conversation_id()
    long_text = "x" * 1601
    page = alice.post(f"/inbox/c/{cid}/reply", data={"body": long_text, "token": TOKEN}
                      ).get_data(as_text=True)
    assert textarea(page) == long_text
    assert "Use at most 1600 characters." in page
    page = alice.post(f"/inbox/c/{cid}/reply", data={"body": "Hello", "token": "short"}
                      ).get_data(as_text=True)
    assert textarea(page) == "Hello"
    assert "The form had expired: check the reply and send it again." in page
    new_token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    assert new_token != "short" and len(new_token) >= 16


def test_with_htmx_a_refusal_answers_the_composer_and_a_reply_redirects(
        client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    cid = conversation_id()
    refused = alice.post(f"/inbox/c/{cid}/reply", headers=HTMX, data={
        "body": "See you at 9", "token": TOKEN, "zone": "UTC", "send_at": "tomorrow"})
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert 'id="composer-section"' in page and textarea(page) == "See you at 9"
    assert "Use a date and time, e.g. 2027-03-01 09:00." in page
    form = re.search(r'<form [^>]*id="composer"[^>]*>', page, re.S).group(0)
    assert 'hx-target="#composer-section"' in form and 'hx-select="#composer-section"' in form

    sent = alice.post(f"/inbox/c/{cid}/reply?", headers=HTMX, data={
        "body": "See you at 9", "token": TOKEN, "view": "unread"})
    assert sent.status_code == 204
    assert sent.headers["HX-Redirect"] == f"/inbox/c/{cid}?view=unread"
    assert "Reply sent to the outbox." in alice.get(sent.headers["HX-Redirect"]).get_data(
        as_text=True)
    assert len(staff_replies()) == 1


def test_a_number_that_opted_out_meanwhile_keeps_the_text_shown(client, patient,
                                                                 staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    cid = conversation_id()
    text_in(client, "STOP")  # while the staff member was typing
    response = alice.post(f"/inbox/c/{cid}/reply", data={"body": "Call us back", "token": TOKEN})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert textarea(page) == "Call us back"
    assert "This number opted out of texts: nothing can be sent to it." in page
    assert staff_replies() == []


def test_the_quiet_hours_button_sends_at_the_windows_opening(client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    later = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    opening = later.strftime("%Y-%m-%dT08:00")
    # The button's value comes after the (empty) send-later field, as a browser posts them.
    response = alice.post(f"/inbox/c/{conversation_id()}/reply", data={
        "body": "We open at 8.", "token": TOKEN, "zone": "America/Chicago",
        "send_at": ["", opening]})
    assert response.status_code == 302
    [reply] = staff_replies()
    assert reply.send_at.astimezone(ZoneInfo("America/Chicago")).strftime(
        "%Y-%m-%dT%H:%M") == opening


@pytest.fixture
def email_to(practice, staff_client):
    """``email_to(*patients)`` → the id of an email conversation with them."""
    practice.send_window_start, practice.send_window_end = time(0, 0), time.max
    db.session.commit()

    def make(*patients) -> int:
        conversation = conversations.get_or_create(
            practice_id=practice.id, channel="email", address=patients[0].email,
            patient_ids=[p.id for p in patients])
        db.session.commit()
        return conversation.id

    return make


def test_an_email_reply_has_its_subject_in_the_patients_language(
        practice, staff_client, email_to):
    ana = factories.make_patient(practice, given_name="Ana", email="ana@example.com",
                                 preferred_language="es")
    _, alice = staff_client()
    alice.post(f"/inbox/c/{email_to(ana)}/reply", headers={"Accept-Language": "en"},
               data={"body": "Su recibo está listo.", "token": TOKEN})
    [reply] = staff_replies()
    assert reply.subject == f"Mensaje de {practice.name}"


def test_a_spanish_speaking_staff_member_writes_english_subjects_to_english_patients(
        practice, staff_client, email_to):
    john = factories.make_patient(practice, given_name="John", email="john@example.com",
                                  preferred_language="en")
    _, alice = staff_client()
    page = alice.post(f"/inbox/c/{email_to(john)}/reply", headers={"Accept-Language": "es"},
                      data={"body": "Your receipt is ready.", "token": TOKEN},
                      follow_redirects=True).get_data(as_text=True)
    assert "Respuesta enviada a la bandeja de salida." in page  # the staff member's language
    [reply] = staff_replies()
    assert reply.subject == f"Message from {practice.name}"


def test_a_household_of_two_languages_is_written_to_in_english(
        practice, staff_client, email_to):
    mother = factories.make_patient(practice, email="home@example.com", preferred_language="es")
    son = factories.make_patient(practice, email="home@example.com", preferred_language="en")
    _, alice = staff_client()
    alice.post(f"/inbox/c/{email_to(mother, son)}/reply", headers={"Accept-Language": "es"},
               data={"body": "Hello / Hola", "token": TOKEN})
    [reply] = staff_replies()
    assert reply.subject == f"Message from {practice.name}"


def test_a_line_break_a_form_posts_as_crlf_is_kept_as_one_character(
        client, patient, staff_client):
    text_in(client, "Hi")
    _, alice = staff_client()
    alice.post(f"/inbox/c/{conversation_id()}/reply",
               data={"body": "Hi Olivia,\r\nsee you at 9.\r\n", "token": TOKEN})
    assert [m.body for m in staff_replies()] == ["Hi Olivia,\nsee you at 9."]
