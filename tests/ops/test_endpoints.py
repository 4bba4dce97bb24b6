"""/healthz, /readyz and /metrics (app.ops): what a load balancer and Prometheus see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.core.clock import frozen_at, utcnow
from app.extensions import db
from app.messaging import inbound_queue
from tests import factories
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS, inbound_form, post_twilio

TOKEN = "metrics-test-token"  # noqa: S105
pytestmark = pytest.mark.app_settings(METRICS_TOKEN=TOKEN, **WEBHOOK_SETTINGS)


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def test_healthz_answers_json_while_the_database_answers(client):
    db.session.remove()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_readyz_is_ready_at_the_migration_head_and_unavailable_behind_it(client):
    assert client.get("/readyz").get_json() == {
        "status": "ready", "database": "ok", "migrations": "at head"}
    (head,) = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()
    assert response.status_code == 503
    assert response.get_json()["migrations"] == "behind"


@pytest.mark.app_settings(METRICS_TOKEN="")
def test_metrics_are_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_refuse_a_wrong_token(client):
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert "frontdesk" not in response.get_data(as_text=True)


def test_metrics_show_the_outbox_depth_and_the_oldest_due_age(client, practice):
    patient = factories.make_patient(practice, mobile_phone="+13125550147")
    now = utcnow()
    factories.make_message(patient, status="scheduled", send_at=now - timedelta(seconds=90))
    factories.make_message(patient, status="scheduled", send_at=now - timedelta(seconds=5))
    factories.make_message(patient, status="scheduled", send_at=now + timedelta(hours=3))
    factories.make_message(patient, status="sending", send_at=now)
    factories.make_message(patient, status="sent")
    samples = scrape(client)
    assert samples[("frontdesk_outbox_messages", (("state", "scheduled"),))] == 3
    assert samples[("frontdesk_outbox_messages", (("state", "sending"),))] == 1
    assert samples[("frontdesk_outbox_due_messages", ())] == 2
    assert 90 <= samples[("frontdesk_outbox_oldest_due_seconds", ())] < 120


def test_metrics_show_texts_waiting_in_the_inbound_queue_and_refused_ones(client, practice):
    stored_at = utcnow()
    for to in ("+13125550100", "+13125550999"):  # the practice's number, and nobody's
        form = {**inbound_form("Running late"), "To": to, "MessagingServiceSid": ""}
        assert post_twilio(client, "/webhooks/twilio/sms", form, route=False).status_code == 200
    with frozen_at(stored_at + timedelta(seconds=40)):
        waiting = scrape(client)
        inbound_queue.route_waiting()
        routed = scrape(client)

    assert waiting[("frontdesk_inbound_waiting_texts", ())] == 2
    assert 40 <= waiting[("frontdesk_inbound_oldest_waiting_seconds", ())] < 60
    assert waiting[("frontdesk_inbound_refused_texts", ())] == 0
    assert routed[("frontdesk_inbound_waiting_texts", ())] == 0
    assert routed[("frontdesk_inbound_oldest_waiting_seconds", ())] == 0
    assert routed[("frontdesk_inbound_refused_texts", ())] == 1


def test_metrics_count_sign_in_failures_and_time_webhooks(client, practice):
    factories.make_patient(practice, mobile_phone="+13125550147")
    before = scrape(client)
    failures = ("frontdesk_sign_in_failures_total", (("reason", "InvalidCredentials"),))
    webhook = ("frontdesk_webhook_seconds_count",
               (("status", "200"), ("webhook", "webhooks.twilio_sms")))
    client.post("/sign-in", data={"email": "nobody@example.com", "password": "wrong"})
    assert post_twilio(client, "/webhooks/twilio/sms", inbound_form("hello")).status_code == 200
    after = scrape(client)
    assert after[failures] == before.get(failures, 0) + 1
    assert after[webhook] == before.get(webhook, 0) + 1
