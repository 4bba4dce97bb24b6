"""The webhook blueprint: three signed, CSRF-exempt routes that refuse what they cannot verify."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.messaging.models import Message
from tests.messaging.signed_webhooks import (
    TWILIO_TOKEN,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

ROUTES = {"webhooks.twilio_sms": "/webhooks/twilio/sms",
          "webhooks.twilio_status": "/webhooks/twilio/status",
          "webhooks.sendgrid_events": "/webhooks/sendgrid/events"}


def test_the_three_routes_are_declared_signed_webhooks(app):
    for endpoint, path in ROUTES.items():
        (rule,) = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
        assert rule.rule == path and rule.methods >= {"POST"} and "GET" not in rule.methods
        view = app.view_functions[endpoint]
        assert view.signed_webhook and view.is_public


def test_signed_requests_pass_csrf_protection(make_app, practice):
    app = make_app(**WEBHOOK_SETTINGS, WTF_CSRF_ENABLED=True)
    response = post_twilio(app.test_client(), "/webhooks/twilio/sms", inbound_form("hello"))
    assert response.status_code == 200


def test_a_webhook_reads_no_staff_session_and_sets_no_cookie(make_app, practice):
    """Providers have no staff session: a cookie the caller sends is not read (no user
    loaded, no session row touched) and the answer sets none and does not vary by it."""
    app = make_app(**WEBHOOK_SETTINGS)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "a-staff-session-id"
    response = post_twilio(client, "/webhooks/twilio/sms", inbound_form("hello"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/twilio/status"])
def test_twilio_hooks_are_closed_without_an_auth_token(make_app, practice, path):
    app = make_app(PUBLIC_BASE_URL="https://clinic.example")  # console SMS, no token
    form = inbound_form("STOP")
    signature = RequestValidator("").compute_signature("https://clinic.example" + path, form)
    response = app.test_client().post(path, data=form,
                                      headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert response.data == b"webhook not configured"
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_the_signature_must_cover_the_public_url_not_the_one_behind_the_proxy(make_app,
                                                                             practice):
    app = make_app(**WEBHOOK_SETTINGS)
    form = inbound_form("hello")
    internal = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://localhost/webhooks/twilio/sms", form)
    response = app.test_client().post("/webhooks/twilio/sms", data=form,
                                      headers={"X-Twilio-Signature": internal})
    assert response.status_code == 403
    assert response.data == b"invalid signature"


def test_a_get_is_not_allowed(client):
    assert client.get("/webhooks/twilio/sms").status_code == 405
