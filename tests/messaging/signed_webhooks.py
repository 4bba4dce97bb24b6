"""Requests to our webhooks signed the way the providers sign them: Twilio with its own
``RequestValidator``, SendGrid with an ECDSA P-256 key pair made for the test run."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from app.core import clock
from app.messaging import inbound_queue

TWILIO_TOKEN = "test-twilio-auth-token"  # noqa: S105
PUBLIC_BASE_URL = "https://clinic.example"
PATIENT_PHONE = "+13125550147"

SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC_KEY = base64.b64encode(SENDGRID_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

WEBHOOK_SETTINGS = {"TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
                    "SENDGRID_WEBHOOK_PUBLIC_KEY": SENDGRID_PUBLIC_KEY}

_sids = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sids):032x}"


def inbound_form(body: str, *, sender: str = PATIENT_PHONE, sid: str | None = None
                 ) -> dict[str, str]:
    """The fields Twilio posts for an inbound text."""
    return {"MessageSid": sid or new_sid(), "SmsMessageSid": sid or new_sid(),
            "AccountSid": "AC" + "a1" * 16, "MessagingServiceSid": "MG" + "b2" * 16,
            "From": sender, "To": "+13125550100", "Body": body, "NumMedia": "0",
            "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
            "FromCountry": "US", "FromState": "IL"}


def twilio_signature(path: str, form: dict[str, str], *, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, form)


SMS_HOOK = "/webhooks/twilio/sms"


def post_twilio(client: FlaskClient, path: str, form: dict[str, str], *,
                signature: str | None = None, route: bool = True) -> Any:
    """POST ``form`` to ``path`` (which may carry a query string) signed for our public URL.
    An inbound text the webhook stored is then routed as the worker's next pass would
    (``route=False``: left waiting in the inbound queue)."""
    headers = {"X-Twilio-Signature": twilio_signature(path, form)
               if signature is None else signature}
    response = client.post(path, data=form, headers=headers)
    if route and path == SMS_HOOK and response.status_code == 200:
        with client.application.app_context():
            inbound_queue.route_waiting()
    return response


def sendgrid_headers(body: bytes, *, timestamp: int | None = None,
                     key: ec.EllipticCurvePrivateKey = SENDGRID_KEY) -> dict[str, str]:
    stamp = str(int(clock.utcnow().timestamp()) if timestamp is None else timestamp)
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json"}


def post_sendgrid(client: FlaskClient, events: list[dict[str, Any]] | bytes, **signing: Any
                  ) -> Any:
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    return client.post("/webhooks/sendgrid/events", data=body,
                       headers=sendgrid_headers(body, **signing))
