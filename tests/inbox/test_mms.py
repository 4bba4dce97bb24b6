"""MMS pictures: recorded from the signed webhook, fetched by the worker with the provider's
credentials (mocked with ``responses``), stored encrypted, shown through an audited route."""

from __future__ import annotations

import base64

import pytest
import requests
import responses
from sqlalchemy import select, text

from app.adapters.sms.media import MediaFetchError, TwilioMediaFetcher
from app.extensions import db
from app.messaging import media
from app.messaging.models import Conversation, Message, MessageMedia
from app.security.models import AuditEvent
from tests.inbox.conftest import WEBHOOK_SETTINGS
from tests.messaging.signed_webhooks import inbound_form, post_twilio

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)
PICTURE = b"\x89PNG\r\n\x1a\n" + b"insurance card" * 50
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
FETCH = TwilioMediaFetcher(account_sid="AC1", auth_token="secret-token")


def mms_in(client, body: str = "") -> None:
    form = inbound_form(body)
    form.update({"NumMedia": "1", "MediaUrl0": MEDIA_URL, "MediaContentType0": "image/png"})
    assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200


@responses.activate
def test_a_picture_only_mms_reaches_the_inbox_and_its_picture_is_fetched_and_shown(
        client, patient, staff_client):
    responses.get(MEDIA_URL, body=PICTURE, content_type="image/png")
    mms_in(client)
    message = db.session.execute(select(Message)).scalar_one()
    assert db.session.execute(select(Conversation.unread)).scalar_one() is True
    _, alice = staff_client()
    cid = message.conversation_id
    assert "A picture is being fetched" in alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert media.fetch_pending(fetch=FETCH) == 1
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        b"AC1:secret-token").decode()
    stored = db.session.execute(select(MessageMedia)).scalar_one()
    assert stored.source_url is None and stored.size == len(PICTURE)
    raw = db.session.execute(text("SELECT content FROM message_media")).scalar_one()
    assert raw.startswith("fd1:") and base64.b64encode(PICTURE).decode() not in raw
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert f"/inbox/media/{stored.id}" in page
    shown = alice.get(f"/inbox/media/{stored.id}")
    assert shown.data == PICTURE and shown.mimetype == "image/png"
    assert db.session.execute(select(AuditEvent).where(
        AuditEvent.object_type == "message_media",
        AuditEvent.patient_id == patient.id)).first()
    assert media.fetch_pending(fetch=FETCH) == 0  # nothing fetched twice


@responses.activate
def test_a_failed_fetch_is_retried_and_a_missing_picture_is_named(client, patient,
                                                                  staff_client):
    responses.get(MEDIA_URL, body=requests.ConnectionError("down"))
    mms_in(client, "Here is my card")
    assert media.fetch_pending(fetch=FETCH) == 0
    responses.replace(responses.GET, MEDIA_URL, status=404)
    assert media.fetch_pending(fetch=FETCH) == 0
    stored = db.session.execute(select(MessageMedia)).scalar_one()
    assert stored.fetch_error == "permanent: provider answered 404"
    assert media.fetch_pending(fetch=FETCH) == 0
    assert len(responses.calls) == 2
    _, alice = staff_client()
    cid = db.session.get(Message, stored.message_id).conversation_id
    page = alice.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert "could not be fetched from the provider" in page


def test_only_the_providers_https_host_is_fetched():
    for url in ("http://api.twilio.com/x", "https://169.254.169.254/latest",
                "https://api.twilio.com.evil.example/x"):
        with pytest.raises(MediaFetchError) as refused:
            FETCH(url)
        assert refused.value.permanent


def test_another_practice_cannot_see_the_picture(client, patient, practice, staff_client):
    from tests import factories

    mms_in(client)
    stored = db.session.execute(select(MessageMedia)).scalar_one()
    stored.content, stored.source_url = base64.b64encode(PICTURE).decode(), None
    db.session.commit()
    other = factories.make_practice(name="Other Dental", sms_from_number="+13125550155")
    outsider = factories.make_staff(other)
    other_client = client.application.test_client()
    other_client.post("/sign-in", data={"email": outsider.email,
                                        "password": factories.STAFF_PASSWORD})
    assert other_client.get(f"/inbox/media/{stored.id}").status_code == 404
