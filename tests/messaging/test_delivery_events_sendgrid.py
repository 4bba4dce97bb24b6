"""SendGrid's signed event webhook: signature and replay window, each event applied once,
bounces and spam reports flag the address, unsubscribes revoke email marketing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.messaging import consent, outbox
from app.messaging import webhooks as webhooks_module
from app.messaging.conversations import contact_index
from app.messaging.models import ConsentEntry, ContactPointStatus, Message, MessageStatus, Purpose
from tests import factories
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS, post_sendgrid, sendgrid_headers

EMAIL = "maria@example.com"
HOOK = "/webhooks/sendgrid/events"


pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, email=EMAIL, preferred_channel="email")


@pytest.fixture
def email(patient):
    """An email the dispatcher handed to SendGrid (X-Message-Id "14c5d75ce93")."""
    message = outbox.enqueue(practice_id=patient.practice_id, patient_id=patient.id,
                             purpose=Purpose.APPOINTMENT, idempotency_key="reminder:7:24h",
                             template="help_reply", channel="email", address=EMAIL)
    message.status, message.provider_message_id = MessageStatus.SENT, "14c5d75ce93"
    db.session.commit()
    return message


def event(kind, event_id, **fields):
    return {"email": EMAIL, "timestamp": 1513299569, "event": kind, "sg_event_id": event_id,
            "sg_message_id": "14c5d75ce93.filter0001.16648.5515E0B88.0",
            "frontdesk_ref": "reminder:7:24h", **fields}


def reload(message):
    db.session.expire_all()
    return db.session.get(Message, message.id)


def usable(channel="email", address=EMAIL):
    status = db.session.execute(select(ContactPointStatus).where(
        ContactPointStatus.contact_index == contact_index(channel, address))
    ).scalar_one_or_none()
    return None if status is None else (status.usable, status.reason)


def marketing_allowed(practice):
    return consent.state(practice_id=practice.id, channel="email",
                         contact_index=contact_index("email", EMAIL),
                         purpose=Purpose.MARKETING).allowed


def grant_marketing(practice):
    consent.record(practice_id=practice.id, channel="email",
                   contact_index=contact_index("email", EMAIL), purpose=Purpose.MARKETING,
                   granted=True, source=consent.ConsentSource.FORM)
    db.session.commit()


@pytest.fixture
def per_type(shared_testdata):
    path = shared_testdata / "webhooks" / "sendgrid" / "event-webhook-per-type-examples.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize(("example", "status", "flag"), [
    ("processed", "sent", None),
    ("deferred", "sent", None),
    ("delivered", "delivered", None),
    ("open", "delivered", None),
    ("click", "delivered", None),
    ("bounce", "failed", (False, "bounce")),
    ("blocked", "failed", (False, "blocked")),
    ("dropped", "failed", (False, "dropped")),
    ("spamreport", "sent", (False, "spam_report")),
    ("unsubscribe", "sent", None),
])
def test_each_documented_event_type(client, email, per_type, example, status, flag):
    sample = {**per_type[example], "email": EMAIL, "frontdesk_ref": "reminder:7:24h"}

    assert post_sendgrid(client, [sample]).status_code == 200

    message = reload(email)
    assert message.status == status
    assert usable() == flag
    if status == "failed":
        assert message.error_code == "5.0.0"
        assert message.status_reason.startswith(sample["event"])


def test_events_are_matched_by_sendgrids_message_id_without_our_reference(client, email):
    sample = event("delivered", "ev-1")
    del sample["frontdesk_ref"]
    post_sendgrid(client, [sample])
    message = reload(email)
    assert message.status == "delivered" and message.delivered_at is not None


def test_a_send_a_crashed_worker_left_unrecorded_is_reconciled_by_processed(client, email):
    email.status, email.provider_message_id = MessageStatus.SENDING, None
    db.session.commit()

    post_sendgrid(client, [event("processed", "ev-1")])

    message = reload(email)
    assert (message.status, message.provider_message_id) == ("sent", "14c5d75ce93")
    assert message.sent_at is not None


def test_out_of_order_events_never_move_a_message_back(client, email):
    post_sendgrid(client, [event("delivered", "ev-2"), event("processed", "ev-1"),
                           event("open", "ev-3")])
    assert reload(email).status == "delivered"


def test_unsubscribe_revokes_email_marketing_only(client, practice, patient, email):
    grant_marketing(practice)
    assert marketing_allowed(practice)

    post_sendgrid(client, [event("group_unsubscribe", "ev-1", asm_group_id=10)])

    assert not marketing_allowed(practice)
    assert consent.state(practice_id=practice.id, channel="email",
                         contact_index=contact_index("email", EMAIL),
                         purpose=Purpose.APPOINTMENT).allowed
    entry = db.session.execute(select(ConsentEntry).order_by(ConsentEntry.id.desc())
                               ).scalars().first()
    assert (entry.source, entry.purpose, entry.granted) == ("email_event", "marketing", False)
    assert (entry.patient_id, entry.message_id) == (patient.id, email.id)
    assert usable() is None


def test_a_spam_report_flags_the_address_and_revokes_marketing(client, practice, email):
    grant_marketing(practice)
    post_sendgrid(client, [event("spamreport", "ev-1")])
    assert usable() == (False, "spam_report")
    assert not marketing_allowed(practice)


def test_a_replayed_batch_is_applied_once(client, practice, email):
    grant_marketing(practice)
    batch = [event("unsubscribe", "ev-1"), event("bounce", "ev-2", type="bounce",
                                                  status="5.0.0", reason="550 no such user")]
    for _ in range(3):
        assert post_sendgrid(client, batch).status_code == 200

    revocations = db.session.scalar(select(func.count()).select_from(ConsentEntry).where(
        ConsentEntry.source == "email_event"))
    assert revocations == 1
    assert reload(email).status == "failed"


def test_an_event_for_a_message_we_do_not_know_still_protects_the_address(client, practice):
    grant_marketing(practice)
    post_sendgrid(client, [{**event("bounce", "ev-1", type="bounce"), "frontdesk_ref": "x",
                            "sg_message_id": "unknown.filter"},
                           {**event("unsubscribe", "ev-2"), "frontdesk_ref": None}])
    assert usable() == (False, "bounce")
    assert not marketing_allowed(practice)


def test_a_bounce_reason_is_stored_without_the_address(client, email):
    post_sendgrid(client, [event("bounce", "ev-1", type="bounce", status="5.1.1",
                                 reason=f"550 5.1.1 <{EMAIL}>: Recipient address rejected")])
    message = reload(email)
    assert EMAIL not in message.status_reason
    assert message.error_code == "5.1.1"


def test_events_without_an_id_or_type_are_skipped_not_fatal(client, email):
    response = post_sendgrid(client, [{"event": "delivered"}, "not an event", {"sg_event_id": 5},
                                      event("delivered", "ev-1")])
    assert response.status_code == 200
    assert reload(email).status == "delivered"


@pytest.mark.parametrize(("body", "message"), [
    (b"[{not json", b"body: not valid JSON (expected a JSON array of events)"),
    (b'{"event": "delivered"}', b"body: expected a JSON array of events"),
])
def test_malformed_json_is_a_400_that_says_why(client, email, body, message):
    response = post_sendgrid(client, body)
    assert response.status_code == 400
    assert response.data == message


def test_a_bad_signature_is_refused_and_nothing_changes(client, email):
    body = json.dumps([event("bounce", "ev-1", type="bounce")]).encode()
    wrong_key = ec.generate_private_key(ec.SECP256R1())
    signed_by_another = client.post(HOOK, data=body, headers=sendgrid_headers(body, key=wrong_key))
    tampered = client.post(HOOK, data=body.replace(b"bounce", b"delivered"),
                           headers=sendgrid_headers(body))
    unsigned = client.post(HOOK, data=body, headers={"Content-Type": "application/json"})

    for response in (signed_by_another, tampered, unsigned):
        assert response.status_code == 403
        assert response.mimetype == "text/plain"
    assert reload(email).status == "sent"
    assert usable() is None


@pytest.mark.parametrize("age_seconds", [301, 3600, -301])
def test_a_stale_or_future_timestamp_is_refused(client, email, age_seconds):
    response = post_sendgrid(client, [event("bounce", "ev-1", type="bounce")],
                             timestamp=int(clock.utcnow().timestamp()) - age_seconds)
    assert response.status_code == 403
    assert reload(email).status == "sent"


def test_the_vendors_signed_sample_is_accepted_at_its_time(make_app, practice, shared_testdata,
                                                            monkeypatch):
    folder = shared_testdata / "webhooks" / "sendgrid"
    vector = json.loads((folder / "signed-event-webhook-test-vector.json").read_text())
    body = (folder / vector["body_file"]).read_bytes()
    headers = vector["headers"]
    signed_at = int(headers["X-Twilio-Email-Event-Webhook-Timestamp"])
    app = make_app(SENDGRID_WEBHOOK_PUBLIC_KEY=vector["public_key_base64_der"])
    client = app.test_client()

    monkeypatch.setattr(webhooks_module, "utcnow",
                        lambda: datetime.fromtimestamp(signed_at + 60, UTC))
    assert client.post(HOOK, data=body, headers=headers).status_code == 200
    # The sample is a "dropped" event for hello@world.com.
    assert usable(address="hello@world.com") == (False, "dropped")

    monkeypatch.setattr(webhooks_module, "utcnow",
                        lambda: datetime.fromtimestamp(signed_at + 301, UTC))
    assert client.post(HOOK, data=body, headers=headers).status_code == 403


def test_without_a_verification_key_the_hook_is_closed(make_app, practice):
    app = make_app()
    body = json.dumps([event("delivered", "ev-1")]).encode()
    response = app.test_client().post(HOOK, data=body, headers=sendgrid_headers(body))
    assert response.status_code == 403
    assert response.data == b"webhook not configured"


def test_a_resubscribe_on_sendgrids_page_restores_no_marketing_consent(client, practice,
                                                                       email, per_type):
    grant_marketing(practice)
    unsubscribe = {**per_type["groupunsubscribe"], "email": EMAIL}
    resubscribe = {**per_type["groupresubscribe"], "email": EMAIL}

    post_sendgrid(client, [unsubscribe, resubscribe])

    assert not marketing_allowed(practice)
