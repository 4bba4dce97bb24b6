"""Development providers, the registries and the provider settings."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from app.adapters.email import get_email_provider
from app.adapters.email.console import ConsoleEmail
from app.adapters.sms import get_sms_provider
from app.adapters.sms.console import ConsoleSms
from app.adapters.sms.twilio import TwilioSms
from app.config import ConfigError, load_settings

TWILIO = {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
          "TWILIO_AUTH_TOKEN": "token", "TWILIO_MESSAGING_SERVICE_SID": "MG" + "b2" * 16}
SENDGRID = {"EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": "SG.key",
            "SENDGRID_FROM_EMAIL": "reminders@smiledental.example"}


def test_console_sms_logs_the_id_and_size_never_the_text_or_number(caplog):
    caplog.set_level(logging.INFO, logger="app.adapters")
    body = "Your code is 482913 - Jane, see you Tue 9:00 - Smile Dental"
    result = ConsoleSms().send_sms(to="+14155550134", body=body,
                                   status_callback_url=None, idempotency_key="ob_7f3a")

    assert result.provider_message_id.startswith("console-")
    assert result.status == "sent"
    logged = "\n".join(caplog.messages)
    assert result.provider_message_id in logged and f"{len(body)} characters" in logged
    assert "1 segment" in logged
    for secret in ("482913", "Jane", "9:00", "Smile Dental", "0134"):
        assert secret not in logged


def test_console_sms_counts_the_parts_a_long_text_costs(caplog):
    caplog.set_level(logging.INFO, logger="app.adapters")
    ConsoleSms().send_sms(to="+14155550134", body="á" * 71, status_callback_url=None,
                          idempotency_key="ob_1")

    assert "71 characters, 2 segment(s)" in caplog.messages[-1]


def test_console_sms_ids_are_unique_and_reconcile_to_sent():
    sms = ConsoleSms()
    first, second = (sms.send_sms(to="+14155550134", body="hi", status_callback_url=None,
                                  idempotency_key=key) for key in ("a", "b"))

    assert first.provider_message_id != second.provider_message_id
    assert sms.fetch_status(first.provider_message_id).status == "sent"
    assert sms.fetch_status("SM123") is None
    assert sms.find_sent(to="+14155550134", body="hi",
                         created_after=datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_console_email_logs_the_id_and_size_never_recipient_subject_or_text(caplog):
    caplog.set_level(logging.INFO, logger="app.adapters")
    result = ConsoleEmail().send_email(to="jane.doe@example.com", subject="Jane, your visit",
                                       html="<p>Tuesday 9:00</p>", text="Tuesday 9:00",
                                       idempotency_key="ob_1")

    assert result.provider_message_id.startswith("console-")
    logged = "\n".join(caplog.messages)
    assert result.provider_message_id in logged and "12 characters" in logged
    for secret in ("jane", "Jane", "example.com", "Tuesday", "9:00"):
        assert secret not in logged


def test_registries_follow_the_provider_settings():
    assert isinstance(get_sms_provider(load_settings(environ={})), ConsoleSms)
    assert isinstance(get_email_provider(load_settings(environ={})), ConsoleEmail)
    assert isinstance(get_sms_provider(load_settings(TWILIO, environ={})), TwilioSms)


def test_unknown_provider_name_is_a_configuration_error():
    with pytest.raises(ConfigError, match="SMS_PROVIDER='carrier-pigeon' has no provider"):
        get_sms_provider({"SMS_PROVIDER": "carrier-pigeon"})
    with pytest.raises(ConfigError, match="EMAIL_PROVIDER='smtp' has no provider"):
        get_email_provider({"EMAIL_PROVIDER": "smtp"})


@pytest.mark.parametrize(("settings", "missing"), [
    ({**TWILIO, "TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID must be set when SMS_PROVIDER"),
    ({**TWILIO, "TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN must be set when SMS_PROVIDER"),
    ({**TWILIO, "TWILIO_MESSAGING_SERVICE_SID": ""},
     "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER must be set when SMS_PROVIDER=twilio"),
    ({**SENDGRID, "SENDGRID_API_KEY": ""}, "SENDGRID_API_KEY must be set when EMAIL_PROVIDER"),
    ({**SENDGRID, "SENDGRID_FROM_EMAIL": ""}, "SENDGRID_FROM_EMAIL must be set when"),
    ({**SENDGRID, "SENDGRID_WEBHOOK_PUBLIC_KEY": ""}, "SENDGRID_WEBHOOK_PUBLIC_KEY must be set"),
])
def test_a_chosen_provider_needs_its_settings(settings, missing, webhook_public_key):
    complete = {"SENDGRID_WEBHOOK_PUBLIC_KEY": webhook_public_key, **settings}
    with pytest.raises(ConfigError, match=missing):
        load_settings(complete, environ={})


def test_a_from_number_is_enough_without_a_messaging_service():
    settings = load_settings({**TWILIO, "TWILIO_MESSAGING_SERVICE_SID": "",
                              "TWILIO_FROM_NUMBER": "+14155550100"}, environ={})
    assert settings["TWILIO_FROM_NUMBER"] == "+14155550100"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("TWILIO_ACCOUNT_SID", "AC123", "TWILIO_ACCOUNT_SID='AC123' does not look like AC"),
    ("TWILIO_MESSAGING_SERVICE_SID", "PN" + "0" * 32, "does not look like MG"),
    ("TWILIO_FROM_NUMBER", "(415) 555-0100", "TWILIO_FROM_NUMBER='(415) 555-0100' does not"),
    ("TWILIO_API_BASE_URL", "localhost:9000", "TWILIO_API_BASE_URL='localhost:9000' must start"),
    ("SENDGRID_API_BASE_URL", "fake", "SENDGRID_API_BASE_URL='fake' must start"),
    ("SENDGRID_FROM_EMAIL", "reminders", "SENDGRID_FROM_EMAIL='reminders' is not an email"),
    ("SENDGRID_WEBHOOK_PUBLIC_KEY", "bm90IGEga2V5", "SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64"),
    ("PROVIDER_TIMEOUT_SECONDS", "0", "PROVIDER_TIMEOUT_SECONDS='0' must be at least 1"),
])
def test_bad_provider_setting_is_named(name, value, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({name: value}, environ={})


def test_console_needs_no_provider_settings():
    settings = load_settings(environ={})
    assert settings["TWILIO_API_BASE_URL"] == settings["SENDGRID_API_BASE_URL"] == ""
    assert settings["PROVIDER_TIMEOUT_SECONDS"] == 10

