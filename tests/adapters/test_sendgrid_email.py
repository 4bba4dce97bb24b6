"""The real sendgrid SDK over real HTTP to a loopback fake: the exact request, and how
answers classify. (The SDK uses urllib, which ``responses`` cannot intercept.)"""

from __future__ import annotations

import base64
import json
import socket

import pytest

from app.adapters.email import REFERENCE_ARG, EmailAttachment, get_email_provider
from app.adapters.email.sendgrid import SendGridEmail
from app.adapters.sending import (
    FailureKind,
    PermanentSendError,
    ProviderConfigurationError,
    TransientSendError,
)
from app.config import load_settings

API_KEY = "SG.test-key"
FROM = "reminders@smiledental.example"


def provider(url, **overrides):
    return SendGridEmail(**{"api_key": API_KEY, "from_email": FROM, "api_base_url": url,
                            "timeout": 2.0, **overrides})


def send(email, **overrides):
    return email.send_email(**{"to": "jane.doe@example.com", "subject": "Your visit on Tuesday",
                               "html": "<p>See you Tuesday at 9:00.</p>",
                               "text": "See you Tuesday at 9:00.", "idempotency_key": "ob_7f3a",
                               **overrides})


def sendgrid_errors(*errors):
    return json.dumps({"errors": [{"message": m, "field": f, "help": None}
                                  for m, f in errors]}).encode()


def test_send_posts_v3_mail_send_with_both_parts_and_only_our_reference(fake_http):
    fake_http.reply(202, X_Message_Id="Gx9aPq2_TkC0c7wLZ1nN8A")

    result = send(provider(fake_http.url), categories=["reminder"])

    assert (result.provider_message_id, result.status) == ("Gx9aPq2_TkC0c7wLZ1nN8A", "queued")
    request = fake_http.requests[0]
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "from": {"email": FROM},
        "subject": "Your visit on Tuesday",
        "personalizations": [{"to": [{"email": "jane.doe@example.com"}]}],
        "content": [{"type": "text/plain", "value": "See you Tuesday at 9:00."},
                    {"type": "text/html", "value": "<p>See you Tuesday at 9:00.</p>"}],
        "custom_args": {REFERENCE_ARG: "ob_7f3a"},
        "categories": ["reminder"],
    }


def test_without_a_base_url_the_sdk_talks_to_sendgrid():
    email = SendGridEmail(api_key=API_KEY, from_email=FROM, api_base_url="")
    assert email._client.host == "https://api.sendgrid.com"


def test_registry_builds_sendgrid_from_settings_and_aims_at_the_base_url(fake_http,
                                                                         webhook_public_key):
    settings = load_settings({
        "EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": API_KEY, "SENDGRID_FROM_EMAIL": FROM,
        "SENDGRID_API_BASE_URL": fake_http.url, "SENDGRID_WEBHOOK_PUBLIC_KEY": webhook_public_key,
    }, environ={})
    fake_http.reply(202, X_Message_Id="abc")

    assert send(get_email_provider(settings)).provider_message_id == "abc"
    assert fake_http.requests[0].path == "/v3/mail/send"


def test_invalid_recipient_is_permanent_and_flags_the_address(fake_http):
    fake_http.reply(400, sendgrid_errors(("Does not contain a valid address.",
                                          "personalizations.0.to.0.email")))

    with pytest.raises(PermanentSendError) as raised:
        send(provider(fake_http.url))

    assert raised.value.kind is FailureKind.INVALID_ADDRESS
    assert raised.value.code == 400


def test_other_bad_request_is_permanent_rejection(fake_http):
    fake_http.reply(400, sendgrid_errors(("The subject is required.", "subject")))

    with pytest.raises(PermanentSendError) as raised:
        send(provider(fake_http.url))

    assert raised.value.kind is FailureKind.REJECTED
    assert "subject is required" in raised.value.message


@pytest.mark.parametrize(("status", "body"), [
    (401, sendgrid_errors(("The provided authorization grant is invalid.", None))),
    (403, sendgrid_errors(("The from address does not match a verified Sender Identity.",
                           "from"))),
    (400, sendgrid_errors(("The from email does not contain a valid address.", "from.email"))),
])
def test_refused_credentials_or_sender_are_configuration_errors(fake_http, status, body):
    fake_http.reply(status, body)

    with pytest.raises(ProviderConfigurationError):
        send(provider(fake_http.url))


def test_rate_limit_is_transient_with_retry_after(fake_http):
    fake_http.reply(429, sendgrid_errors(("too many requests", None)), Retry_After="30")

    with pytest.raises(TransientSendError) as raised:
        send(provider(fake_http.url))

    assert (raised.value.retry_after, raised.value.outcome_unknown) == (30.0, False)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient_and_may_have_sent(fake_http, status):
    fake_http.reply(status, b"upstream trouble")

    with pytest.raises(TransientSendError) as raised:
        send(provider(fake_http.url))

    assert raised.value.outcome_unknown is True


def test_no_answer_within_the_timeout_is_transient_and_may_have_sent(fake_http):
    fake_http.reply(202, delay=1.0)

    with pytest.raises(TransientSendError) as raised:
        send(provider(fake_http.url, timeout=0.2))

    assert raised.value.outcome_unknown is True


def test_nothing_listening_is_transient_and_certainly_not_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(TransientSendError) as raised:
        send(provider(f"http://127.0.0.1:{port}"))

    assert raised.value.outcome_unknown is False


def test_attachments_go_as_sendgrid_attachments_in_order(fake_http):
    fake_http.reply(202, X_Message_Id="with-files")
    pdf, png = b"%PDF-1.4 receipt", b"\x89PNG\r\n\x1a\ncard"

    send(provider(fake_http.url), attachments=[
        EmailAttachment("receipt.pdf", "application/pdf", pdf),
        EmailAttachment("card.png", "image/png", png)])

    assert json.loads(fake_http.requests[0].body)["attachments"] == [
        {"content": base64.b64encode(pdf).decode(), "filename": "receipt.pdf",
         "type": "application/pdf", "disposition": "attachment"},
        {"content": base64.b64encode(png).decode(), "filename": "card.png",
         "type": "image/png", "disposition": "attachment"}]
