from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.messaging.models import Conversation, Direction, Message
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

SMS_HOOK = "/webhooks/twilio/sms"


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, given_name="Olivia", mobile_phone=PATIENT_PHONE)


@pytest.fixture
def staff_client(app, practice):
    """``staff_client(role)`` → (user, client signed in as them)."""

    def sign_in(role: str = "front_desk"):
        user = factories.make_staff(practice, role=role)
        client = app.test_client()
        response = client.post("/sign-in", data={"email": user.email,
                                                 "password": factories.STAFF_PASSWORD})
        assert response.status_code == 302
        return user, client

    return sign_in


def text_in(client, body: str, **form: str) -> None:
    response = post_twilio(client, SMS_HOOK, inbound_form(body, **form))
    assert response.status_code == 200, response.get_data(as_text=True)


def conversation_id() -> int:
    """The id of the test's one conversation."""
    return db.session.execute(select(Conversation.id)).scalar_one()


def staff_replies() -> list[Message]:
    """The messages staff wrote, oldest first."""
    return db.session.execute(select(Message).where(
        Message.direction == Direction.OUTBOUND, Message.sent_by_staff_id.is_not(None))
        .order_by(Message.id)).scalars().all()


__all__ = ["PATIENT_PHONE", "WEBHOOK_SETTINGS", "conversation_id", "staff_replies", "text_in"]
