"""Webhook signature checks: the vendors' own vectors (shared test data) and our own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.datastructures import MultiDict

from app.adapters.email.sendgrid import sendgrid_signature_valid
from app.adapters.sms.twilio import twilio_signature_valid

# --- Twilio -------------------------------------------------------------------------------


@pytest.fixture
def twilio_vector(shared_testdata):
    path = shared_testdata / "webhooks" / "twilio" / "request-validator-test-vector.json"
    return json.loads(path.read_text())


def test_twilio_vendor_vector(twilio_vector):
    v = twilio_vector
    assert twilio_signature_valid(v["auth_token"], v["url"], v["params"],
                                  v["expected_X-Twilio-Signature"])
    port_case = v["http_with_port_1234_case"]
    assert twilio_signature_valid(v["auth_token"], port_case["url"], v["params"],
                                  port_case["expected"])
    multi = v["multi_value_case"]
    assert twilio_signature_valid(v["auth_token"], v["url"],
                                  MultiDict(multi["params_ordered_pairs"]), multi["expected"])


def test_twilio_vendor_vector_refuses_any_change(twilio_vector):
    v = twilio_vector
    signature = v["expected_X-Twilio-Signature"]
    assert not twilio_signature_valid(v["auth_token"], v["url"],
                                      {**v["params"], "Digits": "9999"}, signature)
    assert not twilio_signature_valid(v["auth_token"], v["url"] + "&x=1", v["params"], signature)
    assert not twilio_signature_valid("other-token", v["url"], v["params"], signature)


def hand_signed(token: str, url: str, params: dict[str, str]) -> str:
    """The documented algorithm, written out: HMAC-SHA1 over URL + sorted key+value."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
                            ).decode()


INBOUND = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "2" * 32, "From": "+14155550134",
           "To": "+14155550100", "Body": "STOP", "NumMedia": "0", "SmsStatus": "received"}
PUBLIC_URL = "https://clinic.example/webhooks/twilio/sms"


def test_twilio_own_vector():
    signature = hand_signed("secret-token", PUBLIC_URL, INBOUND)
    assert twilio_signature_valid("secret-token", PUBLIC_URL, INBOUND, signature)
    assert twilio_signature_valid("secret-token", PUBLIC_URL, MultiDict(INBOUND), signature)


@pytest.mark.parametrize(("url", "params", "signature"), [
    (PUBLIC_URL, {**INBOUND, "Body": "START"}, "same"),  # body changed in transit
    ("http://10.0.0.5:8000/webhooks/twilio/sms", INBOUND, "same"),  # proxied URL, not public
    (PUBLIC_URL, INBOUND, None),  # header missing
    (PUBLIC_URL, INBOUND, ""),
    (PUBLIC_URL, INBOUND, "not base64 at all"),
])
def test_twilio_forged_or_missing_signature_is_refused(url, params, signature):
    if signature == "same":
        signature = hand_signed("secret-token", PUBLIC_URL, INBOUND)
    assert not twilio_signature_valid("secret-token", url, params, signature)


def test_twilio_without_an_auth_token_nothing_is_valid():
    assert not twilio_signature_valid("", PUBLIC_URL, INBOUND, hand_signed("", PUBLIC_URL,
                                                                            INBOUND))


# --- SendGrid -----------------------------------------------------------------------------


@pytest.fixture
def sendgrid_vector(shared_testdata):
    folder = shared_testdata / "webhooks" / "sendgrid"
    vector = json.loads((folder / "signed-event-webhook-test-vector.json").read_text())
    return vector, (folder / vector["body_file"]).read_bytes()


def at(unix: int | str) -> datetime:
    return datetime.fromtimestamp(int(unix), UTC)


def test_sendgrid_vendor_vector(sendgrid_vector):
    vector, body = sendgrid_vector
    key = vector["public_key_base64_der"]
    signature = vector["headers"]["X-Twilio-Email-Event-Webhook-Signature"]
    timestamp = vector["headers"]["X-Twilio-Email-Event-Webhook-Timestamp"]

    assert sendgrid_signature_valid(key, body, signature, timestamp, now=at(timestamp))
    bad = vector["negative_cases"]
    assert not sendgrid_signature_valid(bad["wrong_public_key"], body, signature, timestamp,
                                        now=at(timestamp))
    assert not sendgrid_signature_valid(key, body, bad["wrong_signature"], timestamp,
                                        now=at(timestamp))
    assert not sendgrid_signature_valid(key, bad["wrong_body"].encode(), signature, timestamp,
                                        now=at(timestamp))
    assert not sendgrid_signature_valid(key, body, signature, bad["wrong_timestamp"],
                                        now=at(timestamp))


def test_sendgrid_vendor_vector_is_a_replay_five_minutes_later(sendgrid_vector):
    vector, body = sendgrid_vector
    headers = vector["headers"]
    timestamp = headers["X-Twilio-Email-Event-Webhook-Timestamp"]

    assert not sendgrid_signature_valid(
        vector["public_key_base64_der"], body, headers["X-Twilio-Email-Event-Webhook-Signature"],
        timestamp, now=at(int(timestamp) + 301))


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key_base64(private: ec.EllipticCurvePrivateKey) -> str:
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sign(private: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    return base64.b64encode(private.sign(timestamp.encode() + body,
                                         ec.ECDSA(hashes.SHA256()))).decode()


EVENTS = (b'[{"email":"jane@example.com","event":"bounce","type":"bounce",'
          b'"sg_event_id":"ev1","frontdesk_ref":"ob_7f3a","timestamp":1795100000}]\r\n')
NOW = 1795100040


def test_sendgrid_own_vector(signing_key):
    signature = sign(signing_key, str(NOW - 40), EVENTS)
    assert sendgrid_signature_valid(public_key_base64(signing_key), EVENTS, signature,
                                    str(NOW - 40), now=at(NOW))


@pytest.mark.parametrize(("body", "timestamp", "now_offset", "signature"), [
    (EVENTS.replace(b"bounce", b"delivered", 1), str(NOW), 0, "good"),  # body altered
    (EVENTS, str(NOW + 1), 0, "good"),  # timestamp altered
    (EVENTS, str(NOW), 301, "good"),  # replayed after the window
    (EVENTS, str(NOW), -301, "good"),  # timestamp from the future
    (EVENTS, str(NOW), 0, None),  # header missing
    (EVENTS, None, 0, "good"),
    (EVENTS, str(NOW), 0, "%%%not-base64%%%"),
    (b"\xff\xfe not utf-8", str(NOW), 0, "good"),
])
def test_sendgrid_forged_stale_or_missing_signature_is_refused(signing_key, body, timestamp,
                                                               now_offset, signature):
    if signature == "good":
        signature = sign(signing_key, str(NOW), EVENTS)
    assert not sendgrid_signature_valid(public_key_base64(signing_key), body, signature,
                                        timestamp, now=at(NOW + now_offset))


def test_sendgrid_window_edge_is_accepted(signing_key):
    signature = sign(signing_key, str(NOW), EVENTS)
    assert sendgrid_signature_valid(public_key_base64(signing_key), EVENTS, signature,
                                    str(NOW), now=at(NOW + 300))
    assert sendgrid_signature_valid(public_key_base64(signing_key), EVENTS, signature,
                                    str(NOW), now=at(NOW + 60), max_age_seconds=60)
    assert not sendgrid_signature_valid(public_key_base64(signing_key), EVENTS, signature,
                                        str(NOW), now=at(NOW + 61), max_age_seconds=60)


def test_sendgrid_malformed_public_key_is_a_configuration_error():
    with pytest.raises(ValueError):
        sendgrid_signature_valid("bm90IGEga2V5", EVENTS, "c2ln", str(NOW), now=at(NOW))
