"""Structured logs: every line JSON with the unit of work's id, and no PHI anywhere along a
patient's whole path (inbound text, booking, outbox dispatch, staff sign-in)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.core import logs
from app.extensions import db
from app.messaging import dispatcher, outbox
from app.messaging.cli import build_providers
from app.messaging.models import Purpose
from app.scheduling import booking
from tests import factories
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS, inbound_form, post_twilio
from tests.scheduling.test_self_service import first_slot, make_office

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)

GIVEN, FAMILY = "Philippa", "Quennell-Marsh"
MOBILE, EMAIL = "+13125550147", "philippa.qm@example.org"
PHI = [GIVEN, FAMILY, MOBILE, MOBILE[2:], "312-555-0147", "555-0147", EMAIL, "philippa.qm",
       "sore molar on the left"]


@pytest.fixture
def captured():
    stream = io.StringIO()
    logs.configure(level="DEBUG", stream=stream)
    yield stream
    logs.configure(level="INFO")


def test_a_whole_patient_path_logs_json_lines_with_ids_and_no_phi(app, client, practice,
                                                                    captured):
    office = make_office(practice)
    patient = factories.make_patient(practice, given_name=GIVEN, family_name=FAMILY,
                                     mobile_phone=MOBILE, email=EMAIL)
    staff = factories.make_staff(practice, role="front_desk")
    form = inbound_form("Hi, I have a sore molar on the left", sender=MOBILE)
    assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200
    assert post_twilio(client, "/webhooks/twilio/sms", form).status_code == 200  # a retry
    booking.book(patient_id=patient.id, slot=first_slot(office), source="staff",
                 staff_id=staff.id)
    outbox.enqueue(practice_id=practice.id, patient_id=patient.id, purpose=Purpose.APPOINTMENT,
                   idempotency_key="phi-log", body=f"Dear {GIVEN}, see you soon", channel="email",
                   immediate_reply=True)  # a reply: goes out whatever the hour
    db.session.commit()
    dispatcher.run_once(build_providers())
    client.post("/sign-in", data={"email": staff.email, "password": "wrong"})
    client.post("/sign-in", data={"email": staff.email, "password": factories.STAFF_PASSWORD})
    logging.getLogger("app.test").info("reached %s at %s", MOBILE, EMAIL)  # scrubbed too

    lines = captured.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    loggers = {r.get("logger") for r in records}
    assert {"app.messaging.webhooks", "app.adapters.email.console", "app.test"} <= loggers
    assert any(r["event"] == "reached [redacted] at [redacted]" for r in records)
    request_lines = [r for r in records if r.get("logger") == "app.messaging.webhooks"]
    assert request_lines and all(r.get("request_id") for r in request_lines)
    assert all("event" in r and "level" in r and "timestamp" in r for r in records)
    text = captured.getvalue().lower()
    for secret in PHI:
        assert secret.lower() not in text, f"{secret!r} was logged"
