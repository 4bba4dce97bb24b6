"""The real twilio SDK against ``responses``: the exact requests, and how answers classify."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.adapters.sending import (
    FailureKind,
    PermanentSendError,
    ProviderConfigurationError,
    TransientSendError,
)
from app.adapters.sms import get_sms_provider
from app.adapters.sms.twilio import TwilioSms
from app.config import load_settings

SID = "AC" + "a1" * 16
TOKEN = "f" * 32
SERVICE = "MG" + "b2" * 16
OTHER_SERVICE = "MG" + "c3" * 16
TO = "+14155550134"
MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
CALLBACK = "https://clinic.example/webhooks/twilio/status?ref=ob_7f3a"


def twilio_message(sid="SM" + "d4" * 16, status="queued", body="See you Tue 9:00 - Smile Dental",
                   created="Tue, 24 Nov 2026 15:00:05 +0000", service=SERVICE, sender=None,
                   error_code=None):
    """A Message resource as Twilio returns it."""
    return {
        "account_sid": SID, "api_version": "2010-04-01", "body": body,
        "date_created": created, "date_sent": None, "date_updated": created,
        "direction": "outbound-api", "error_code": error_code, "error_message": None,
        "from": sender, "messaging_service_sid": service, "num_media": "0",
        "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
        "status": status, "subresource_uris": {}, "to": TO,
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
    }


def twilio_error(code, status, message="error"):
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def provider(**overrides):
    options = {"account_sid": SID, "auth_token": TOKEN, "messaging_service_sid": SERVICE,
               "timeout": 7.0, **overrides}
    return TwilioSms(**options)


def send(sms, **overrides):
    return sms.send_sms(**{"to": TO, "body": "See you Tue 9:00 - Smile Dental",
                           "status_callback_url": CALLBACK, "idempotency_key": "ob_7f3a",
                           **overrides})


def form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_send_posts_to_messages_with_service_callback_and_basic_auth(mocked):
    mocked.post(MESSAGES, json=twilio_message(), status=201)

    result = send(provider())

    assert (result.provider_message_id, result.status) == ("SM" + "d4" * 16, "queued")
    call = mocked.calls[0]
    assert call.request.method == "POST"
    assert form(call) == {"To": TO, "Body": "See you Tue 9:00 - Smile Dental",
                          "StatusCallback": CALLBACK, "MessagingServiceSid": SERVICE}
    expected_auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected_auth}"
    assert call.request.req_kwargs["timeout"] == 7.0


def test_send_from_a_number_without_a_callback(mocked):
    mocked.post(MESSAGES, json=twilio_message(service=None, sender="+14155550100"), status=201)

    send(provider(messaging_service_sid=None, from_number="+14155550100"),
         status_callback_url=None)

    assert form(mocked.calls[0]) == {"To": TO, "Body": "See you Tue 9:00 - Smile Dental",
                                     "From": "+14155550100"}


def test_base_url_override_sends_everything_to_the_other_host(mocked):
    fake = "http://127.0.0.1:8765"
    mocked.post(f"{fake}/2010-04-01/Accounts/{SID}/Messages.json", json=twilio_message(),
                status=201)
    mocked.get(f"{fake}/2010-04-01/Accounts/{SID}/Messages/SM1.json",
               json=twilio_message(sid="SM1", status="delivered"))

    sms = provider(api_base_url=fake)
    send(sms)

    assert sms.fetch_status("SM1").status == "delivered"


def test_region_in_the_environment_does_not_redirect_calls(mocked, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "au1")
    mocked.post(MESSAGES, json=twilio_message(), status=201)

    send(provider())

    assert urlsplit(mocked.calls[0].request.url).hostname == "api.twilio.com"


@pytest.mark.parametrize(("code", "kind"), [
    (21211, FailureKind.INVALID_NUMBER),
    (21612, FailureKind.INVALID_NUMBER),
    (21614, FailureKind.INVALID_NUMBER),
    (21635, FailureKind.INVALID_NUMBER),
    (21610, FailureKind.OPTED_OUT),
    (21408, FailureKind.REJECTED),
])
def test_carrier_errors_are_permanent_and_say_what_to_do(mocked, code, kind):
    mocked.post(MESSAGES, status=400, json=twilio_error(
        code, 400, f"The 'To' number {TO} is not a valid phone number."))

    with pytest.raises(PermanentSendError) as raised:
        send(provider())

    assert (raised.value.code, raised.value.kind) == (code, kind)
    assert "0134" not in str(raised.value)  # the recipient is not echoed into our logs


def test_rejected_credentials_are_a_configuration_error(mocked):
    mocked.post(MESSAGES, status=401, json=twilio_error(20003, 401, "Authenticate"))

    with pytest.raises(ProviderConfigurationError):
        send(provider())


@pytest.mark.parametrize(("status", "payload", "outcome_unknown"), [
    (429, twilio_error(20429, 429, "Too Many Requests"), False),
    (503, twilio_error(20503, 503, "Service unavailable"), True),
    (500, None, True),
])
def test_rate_limits_and_server_errors_are_transient(mocked, status, payload, outcome_unknown):
    if payload is None:
        mocked.post(MESSAGES, status=status, body="<html>oops</html>")
    else:
        mocked.post(MESSAGES, status=status, json=payload)

    with pytest.raises(TransientSendError) as raised:
        send(provider())

    assert raised.value.outcome_unknown is outcome_unknown


@pytest.mark.parametrize(("error", "outcome_unknown"), [
    (requests.ConnectTimeout("connect timed out"), False),
    (requests.ReadTimeout("read timed out"), True),
    (requests.ConnectionError("connection reset"), True),
])
def test_timeouts_and_connection_errors_are_transient(mocked, error, outcome_unknown):
    mocked.post(MESSAGES, body=error)

    with pytest.raises(TransientSendError) as raised:
        send(provider())

    assert raised.value.outcome_unknown is outcome_unknown


def test_fetch_status_reads_the_message_and_none_when_twilio_does_not_know_it(mocked):
    mocked.get(f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/SM1.json",
               json=twilio_message(sid="SM1", status="undelivered", error_code=30003))
    mocked.get(f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/SM2.json",
               status=404, json=twilio_error(20404, 404, "not found"))

    sms = provider()
    found = sms.fetch_status("SM1")

    assert (found.status, found.error_code) == ("undelivered", 30003)
    assert sms.fetch_status("SM2") is None


def message_page(*messages):
    return {"end": len(messages) - 1, "first_page_uri": "/x", "messages": list(messages),
            "next_page_uri": None, "page": 0, "page_size": 100, "previous_page_uri": None,
            "start": 0, "uri": "/x"}


def test_find_sent_matches_body_sender_and_time_and_skips_known_ids(mocked):
    body = "See you Tue 9:00 - Smile Dental"
    mocked.get(MESSAGES, json=message_page(
        twilio_message(sid="SMold", body=body, created="Tue, 24 Nov 2026 14:59:59 +0000"),
        twilio_message(sid="SMother", body="Different text"),
        twilio_message(sid="SMservice", body=body, service=OTHER_SERVICE),
        twilio_message(sid="SMknown", body=body, created="Tue, 24 Nov 2026 15:00:01 +0000"),
        twilio_message(sid="SMlater", body=body, created="Tue, 24 Nov 2026 15:03:00 +0000"),
        twilio_message(sid="SMours", body=body, created="Tue, 24 Nov 2026 15:00:02 +0000",
                       status="sent"),
    ))

    found = provider().find_sent(to=TO, body=body, exclude_ids={"SMknown"},
                                 created_after=datetime(2026, 11, 24, 15, 0, 0, 400000, UTC))

    assert (found.provider_message_id, found.status) == ("SMours", "sent")
    query = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert query == {"To": [TO], "PageSize": ["100"]}


def test_find_sent_is_none_when_twilio_shows_no_such_message(mocked):
    mocked.get(MESSAGES, json=message_page(twilio_message(body="Another reminder")))

    assert provider().find_sent(to=TO, body="See you Tue 9:00 - Smile Dental",
                                created_after=datetime(2026, 11, 24, 15, 0, tzinfo=UTC)) is None


def test_registry_builds_twilio_from_settings(mocked):
    settings = load_settings({"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": SID,
                              "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+14155550100",
                              "TWILIO_API_BASE_URL": "http://fake.twilio.test:9000/",
                              "PROVIDER_TIMEOUT_SECONDS": "3"}, environ={})
    mocked.post(f"http://fake.twilio.test:9000/2010-04-01/Accounts/{SID}/Messages.json",
                json=twilio_message(), status=201)

    send(get_sms_provider(settings))

    assert form(mocked.calls[0])["From"] == "+14155550100"
    assert mocked.calls[0].request.req_kwargs["timeout"] == 3

