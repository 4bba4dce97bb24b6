"""The scoping mechanism itself (app.core.tenancy) and inbound routing, with two practices
holding look-alike data: a request that names no practice reads no practice data; updates,
deletes and writes acting for one practice never touch the other's rows; a text lands in the
practice owning the number it was sent to, and a number no practice owns is refused."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from app.core.clock import utcnow
from app.core.tenancy import (
    CrossPracticeWrite,
    PracticeScoped,
    UnscopedQuery,
    across_practices,
    acting_for,
    fail_closed,
)
from app.extensions import db
from app.messaging import inbound_queue
from app.messaging.models import ConsentEntry, Conversation, Message, WebhookEvent
from app.patients.models import Patient
from tests import factories
from tests.messaging.signed_webhooks import (
    WEBHOOK_SETTINGS,
    inbound_form,
    post_sendgrid,
    post_twilio,
)
from tests.security.two_practices import (
    B_NUMBER,
    PHONE,
    Seeded,
    sign_in,
    two_practices,
)

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def two(app: Flask) -> tuple[Seeded, Seeded]:
    return two_practices()


def test_a_text_to_b_number_from_a_phone_both_know_lands_in_b_only(app, client, two):
    a, b = two
    form = {**inbound_form("Running late", sender=PHONE), "To": B_NUMBER,
            "MessagingServiceSid": ""}
    response = post_twilio(client, "/webhooks/twilio/sms", form)

    assert response.status_code == 200
    with across_practices():
        message = db.session.execute(select(Message).where(
            Message.provider_message_id == form["MessageSid"])).scalar_one()
        conversation = db.session.get(Conversation, message.conversation_id)
    assert message.practice_id == conversation.practice_id == b.practice.id
    assert message.patient_id in b.patient_ids


def test_a_text_to_a_number_no_practice_owns_is_kept_refused_until_the_number_is_set_up(
        app, client, two, caplog):
    a, _ = two
    before = db.session.execute(select(Message.id)).scalars().all()
    caplog.set_level(logging.WARNING, logger="app.messaging")
    forms = [{**inbound_form("STOP", sender=PHONE), "To": to, "MessagingServiceSid": ""}
             for to in ("+13125550999", factories.DEPLOYMENT_NUMBER)]  # the deployment's: 2
    for form in forms:
        assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200
    assert db.session.execute(select(Message.id)).scalars().all() == before  # in no practice
    assert inbound_queue.figures(utcnow()).refused == 2
    assert "no practice owns this number" in caplog.text
    assert "single practice only" in caplog.text
    assert PHONE not in caplog.text and "STOP" not in caplog.text

    a.practice.sms_from_number = "+13125550999"  # the operator sets the number up
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["inbound", "route", "--retry-refused"])
    assert result.exit_code == 0, result.output
    assert "2 refused texts queued again" in result.output
    assert "routed 1, repeated 0, refused 1" in result.output  # the deployment's still is
    with across_practices():
        message = db.session.execute(select(Message).where(
            Message.provider_message_id == forms[0]["MessageSid"])).scalar_one()
    assert message.practice_id == a.practice.id


def test_a_messaging_service_routes_to_its_practice(app, client, two):
    a, _ = two
    a.practice.sms_messaging_service_sid = "MG" + "c3" * 16
    db.session.commit()
    form = {**inbound_form("hello", sender=PHONE), "To": "+13125550999",
            "MessagingServiceSid": "MG" + "c3" * 16}
    assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200
    message = db.session.execute(select(Message).where(
        Message.provider_message_id == form["MessageSid"])).scalar_one()
    assert message.practice_id == a.practice.id


def test_practice_data_read_inside_a_request_without_a_practice_is_refused(app, two):
    with app.test_request_context(), fail_closed():
        with pytest.raises(UnscopedQuery):
            db.session.execute(select(Patient)).all()
        with across_practices():
            assert len(db.session.execute(select(Patient)).all()) == 3
        with acting_for(two[1].practice.id):
            assert {p.id for p in db.session.execute(select(Patient)).scalars()} \
                == two[1].patient_ids
            assert db.session.execute(select(func.count()).select_from(Patient)
                                      ).scalar_one() == 1


def test_updates_and_deletes_acting_for_one_practice_miss_the_others_rows(app, two):
    a, b = two
    with acting_for(a.practice.id):
        a_messages = db.session.execute(select(func.count()).select_from(Message)).scalar_one()
    assert a_messages
    with acting_for(b.practice.id):
        changed = db.session.execute(update(Patient).where(Patient.id.in_(a.patient_ids))
                                     .values(preferred_language="es")).rowcount
        removed = db.session.execute(delete(Message).where(
            Message.practice_id == a.practice.id)).rowcount
        db.session.commit()
    assert (changed, removed) == (0, 0)
    with acting_for(a.practice.id):
        assert db.session.execute(select(func.count()).select_from(Message)).scalar_one() == \
            a_messages


def test_an_email_another_practice_uses_is_refused_by_name_not_a_500(app, two):
    a, b = two
    taken = db.session.execute(select(factories.StaffUser.email).where(
        factories.StaffUser.id == a.staff["admin"])).scalar_one()
    client = sign_in(app, b.staff["admin"])

    response = client.post("/admin/users/new", data={
        "email": taken, "display_name": "New", "role": "front_desk",
        "password": factories.STAFF_PASSWORD, "confirm_password": factories.STAFF_PASSWORD})

    assert response.status_code in (200, 400)
    assert "already" in response.get_data(as_text=True)


def test_writing_another_practices_row_while_acting_for_one_is_refused(app, two):
    a, b = two
    with across_practices():
        patient = db.session.get(Patient, a.ids["patient_id"])
    with acting_for(b.practice.id):
        patient.preferred_language = "es"
        with pytest.raises(CrossPracticeWrite):
            db.session.flush()
    db.session.rollback()


def _email_event(kind: str, event_id: str, **fields: str) -> dict:
    return {"email": "maria@example.com", "timestamp": 1513299569, "event": kind,
            "sg_event_id": event_id, **fields}


def test_email_events_act_for_the_practice_of_their_message_and_skip_unmatched(app, client,
                                                                              two):
    a, b = two
    with across_practices():
        message = db.session.get(Message, a.ids["message_id"])
        message.channel, message.address = "email", "maria@example.com"
        message.idempotency_key = "reminder:a:1"
        db.session.commit()

    post_sendgrid(client, [_email_event("unsubscribe", "ev-a", frontdesk_ref="reminder:a:1"),
                           _email_event("unsubscribe", "ev-nobody")])

    with across_practices():
        revoked = db.session.execute(select(ConsentEntry.practice_id)).scalars().all()
        events = db.session.execute(select(WebhookEvent.event_id, WebhookEvent.practice_id)
                                    ).all()
    assert revoked == [a.practice.id]  # B's look-alike address is untouched
    assert events == [("ev-a", a.practice.id)]  # with two practices, no practice to guess



# Tables without a practice column, on purpose: the practices themselves; deployment-wide
# security records (sign-in attempts count per email and address, sessions belong to a staff
# member, spent link ids are random); texts stored by the webhook before routing decides
# their practice; and links between two rows that are both scoped, only ever read through
# one of them.
DEPLOYMENT_WIDE = {"inbound_text", "job_tick", "practice", "sign_in_attempt", "staff_session",
                   "used_link_token"}
ASSOCIATIONS = {"conversation_patient", "provider_location", "provider_appointment_type",
                "waitlist_entry_provider"}


def test_every_table_holding_practice_data_is_scoped_by_the_mechanism(app):
    """A new table that forgets its practice column, or a model that forgets the marker,
    would be read across practices: this names it."""
    unmarked = sorted(mapper.local_table.name for mapper in db.Model.registry.mappers
                      if not issubclass(mapper.class_, PracticeScoped)
                      and mapper.local_table.name != "practice")
    assert unmarked == [name for name in sorted(DEPLOYMENT_WIDE) if name != "practice"]
    without_practice = sorted(table.name for table in db.metadata.tables.values()
                              if "practice_id" not in table.c)
    assert without_practice == sorted(DEPLOYMENT_WIDE | ASSOCIATIONS)
