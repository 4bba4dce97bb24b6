"""Twilio Programmable Messaging through the official ``twilio`` SDK.

Errors come back classified (``app.adapters.sending``): the carrier codes that mean the
number is unusable or opted out are permanent and say which; 429, 5xx, timeouts and
connection errors are transient.

``TWILIO_API_BASE_URL`` points the SDK at another host (a local fake for benchmarks): the
SDK builds every URL from its ``api`` domain's ``base_url``, so replacing that one value
moves messages.create, fetch and list alike.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from app.adapters.sending import (
    FailureKind,
    PermanentSendError,
    ProviderConfigurationError,
    SendError,
    SendResult,
    TransientSendError,
    redact,
)
from app.adapters.sms.base import SmsSender, register

INVALID_NUMBER_CODES = frozenset({21211, 21612, 21614, 21635})
OPTED_OUT_CODES = frozenset({21610})
# 21606: the From number is not an SMS-capable number of this account.
CONFIGURATION_CODES = frozenset({20003, 21606})
# How many of the newest messages to the number ``find_sent`` reads.
FIND_SENT_SCAN_LIMIT = 100

# The SDK reads TWILIO_EDGE / TWILIO_REGION from os.environ unless given a mapping; our
# settings table is the only source, and a region would rewrite TWILIO_API_BASE_URL's host.
_NO_SDK_ENVIRONMENT = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}


@register("twilio")
class TwilioSms:
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str,
                 messaging_service_sid: str | None = None, from_number: str | None = None,
                 api_base_url: str | None = None, timeout: float = 10.0) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("a messaging service SID or a from number is required")
        self._messaging_service_sid = messaging_service_sid or None
        self._from_number = None if messaging_service_sid else from_number
        # The SDK logs query strings (recipient numbers) at INFO; keep it to warnings.
        sdk_log = logging.getLogger(f"{__name__}.sdk")
        sdk_log.setLevel(logging.WARNING)
        http_client = TwilioHttpClient(timeout=timeout, logger=sdk_log)
        self._client = Client(account_sid, auth_token, http_client=http_client,
                              environment=_NO_SDK_ENVIRONMENT)
        if api_base_url:
            self._client.api.base_url = api_base_url

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TwilioSms:
        return cls(account_sid=settings["TWILIO_ACCOUNT_SID"],
                   auth_token=settings["TWILIO_AUTH_TOKEN"],
                   messaging_service_sid=settings["TWILIO_MESSAGING_SERVICE_SID"],
                   from_number=settings["TWILIO_FROM_NUMBER"],
                   api_base_url=settings["TWILIO_API_BASE_URL"],
                   timeout=settings["PROVIDER_TIMEOUT_SECONDS"])

    def _sender(self, sender: SmsSender | None) -> SmsSender:
        if sender:
            return sender
        return SmsSender(messaging_service_sid=self._messaging_service_sid,
                         from_number=self._from_number)

    def send_sms(self, *, to: str, body: str, status_callback_url: str | None,
                 idempotency_key: str, sender: SmsSender | None = None) -> SendResult:
        """``idempotency_key`` is not sent: Twilio has none. See ``find_sent``."""
        chosen = self._sender(sender)
        sender_args: dict[str, str] = (
            {"messaging_service_sid": chosen.messaging_service_sid}
            if chosen.messaging_service_sid else {"from_": chosen.from_number or ""})
        try:
            message = self._client.messages.create(
                to=to, body=body, status_callback=status_callback_url or None, **sender_args)
        except (TwilioException, requests.RequestException) as exc:
            raise _classify(exc) from exc
        return SendResult(message.sid or "", message.status or "", message.error_code)

    def fetch_status(self, provider_message_id: str) -> SendResult | None:
        try:
            message = self._client.messages(provider_message_id).fetch()
        except (TwilioException, requests.RequestException) as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise _classify(exc) from exc
        return SendResult(message.sid or "", message.status or "", message.error_code)

    def find_sent(self, *, to: str, body: str, created_after: datetime,
                  exclude_ids: Collection[str] = (), sender: SmsSender | None = None
                  ) -> SendResult | None:
        """Twilio has no idempotency key, so match on what we sent instead.

        Lists the newest ``FIND_SENT_SCAN_LIMIT`` messages to ``to`` and keeps the oldest
        one from our sender (messaging service or From number) whose body is exactly
        ``body`` and whose ``date_created`` is not before ``created_after`` (a second's
        precision: Twilio's dates have no fractions).

        Not Twilio's ``DateSent>`` filter: it compares dates only, and a message still
        queued has no ``date_sent`` at all, so it would hide exactly the message we look
        for. Call this a few minutes after the crash, not at once: a message created a
        moment ago may not be listed yet. A None means Twilio shows no such message. The
        match is on the exact body, so a Messaging Service that rewrites bodies (Smart
        Encoding) must be off, or the rewritten text passed in.
        """
        since = created_after.replace(microsecond=0)
        try:
            recent = self._client.messages.list(to=to, limit=FIND_SENT_SCAN_LIMIT)
        except (TwilioException, requests.RequestException) as exc:
            raise _classify(exc) from exc
        matches = [
            m for m in recent
            if m.body == body and m.sid not in exclude_ids
            and m.date_created is not None and m.date_created >= since
            and _is_sender(self._sender(sender), m.messaging_service_sid, m.from_)
        ]
        if not matches:
            return None
        first = min(matches, key=lambda m: m.date_created)
        return SendResult(first.sid or "", first.status or "", first.error_code)



def _is_sender(sender: SmsSender, messaging_service_sid: str | None, from_: str | None) -> bool:
    if sender.messaging_service_sid:
        return messaging_service_sid == sender.messaging_service_sid
    return from_ == sender.from_number


def _classify(exc: Exception) -> SendError:
    if isinstance(exc, requests.ConnectTimeout):
        return TransientSendError(None, "connecting to Twilio timed out")
    if isinstance(exc, requests.Timeout):
        return TransientSendError(None, "Twilio did not answer in time", outcome_unknown=True)
    if isinstance(exc, requests.RequestException):
        return TransientSendError(None, f"connection to Twilio failed: {type(exc).__name__}",
                                  outcome_unknown=True)
    status = getattr(exc, "status", None) or 0
    code = getattr(exc, "code", None)
    text = redact(str(getattr(exc, "msg", None) or getattr(exc, "detail", None) or exc))
    if code in OPTED_OUT_CODES:
        return PermanentSendError(code, text, FailureKind.OPTED_OUT)
    if code in INVALID_NUMBER_CODES:
        return PermanentSendError(code, text, FailureKind.INVALID_NUMBER)
    if status == 429:
        return TransientSendError(code, text)
    if status >= 500:
        return TransientSendError(code, text, outcome_unknown=True)
    if status in (401, 403, 404) or code in CONFIGURATION_CODES:
        return ProviderConfigurationError(code, text)
    return PermanentSendError(code, text, FailureKind.REJECTED)


def twilio_signature_valid(auth_token: str, url: str, form_params: Mapping[str, Any],
                           signature: str | None) -> bool:
    """Check ``X-Twilio-Signature`` over the public URL Twilio called (PUBLIC_BASE_URL +
    path + query, not the proxied one) and every form field as received. A Flask
    ``request.form`` MultiDict keeps repeated keys, which the signature covers."""
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, form_params, signature)
