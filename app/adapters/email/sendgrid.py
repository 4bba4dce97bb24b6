"""SendGrid v3 mail send through the official ``sendgrid`` SDK, and its signed event webhook.

The SDK speaks HTTP through ``python_http_client`` (urllib, not requests), so its errors are
urllib's and python_http_client's; ``_classify`` turns them into ours. ``SENDGRID_API_BASE_URL``
is the SDK's own ``host`` argument.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import urllib.error
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.mail import (
    Attachment,
    Category,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    Mail,
)

from app.adapters.email.base import REFERENCE_ARG, EmailAttachment, register
from app.adapters.sending import (
    FailureKind,
    PermanentSendError,
    ProviderConfigurationError,
    SendError,
    SendResult,
    TransientSendError,
    redact,
)

DEFAULT_HOST = "https://api.sendgrid.com"


@register("sendgrid")
class SendGridEmail:
    name = "sendgrid"

    def __init__(self, *, api_key: str, from_email: str, api_base_url: str | None = None,
                 timeout: float = 10.0) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=api_base_url or DEFAULT_HOST)
        self._from_email = from_email
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SendGridEmail:
        return cls(api_key=settings["SENDGRID_API_KEY"],
                   from_email=settings["SENDGRID_FROM_EMAIL"],
                   api_base_url=settings["SENDGRID_API_BASE_URL"],
                   timeout=settings["PROVIDER_TIMEOUT_SECONDS"])

    def send_email(self, *, to: str, subject: str, html: str, text: str,
                   idempotency_key: str, categories: Sequence[str] = (),
                   from_email: str | None = None,
                   attachments: Sequence[EmailAttachment] = ()) -> SendResult:
        """202 Accepted → ``SendResult(X-Message-Id, "queued")``. SendGrid's events carry
        ``sg_message_id`` = that id + "." + a suffix, and our ``REFERENCE_ARG``. Each of
        ``attachments`` is a SendGrid attachment (base64 content, file name, type)."""
        mail = Mail(from_email=from_email or self._from_email, to_emails=to, subject=subject,
                    plain_text_content=text, html_content=html)
        mail.custom_arg = CustomArg(REFERENCE_ARG, idempotency_key)
        for category in categories:
            mail.category = Category(category)
        for attached in reversed(attachments):  # the SDK puts each one first
            mail.add_attachment(Attachment(
                FileContent(base64.b64encode(attached.data).decode("ascii")),
                FileName(attached.filename), FileType(attached.content_type),
                Disposition("attachment")))
        try:
            response = self._client.client.mail.send.post(request_body=mail.get(),
                                                          timeout=self._timeout)
        except (SendGridHTTPError, OSError, http.client.HTTPException) as exc:
            raise _classify(exc) from exc
        return SendResult(response.headers.get("X-Message-Id") or "", "queued")


def _classify(exc: Exception) -> SendError:
    if isinstance(exc, urllib.error.URLError):
        # urllib raises URLError only while connecting or writing the request.
        return TransientSendError(None, f"could not reach SendGrid: {type(exc.reason).__name__}")
    if not isinstance(exc, SendGridHTTPError):
        return TransientSendError(None, f"SendGrid did not answer: {type(exc).__name__}",
                                  outcome_unknown=True)
    status = exc.status_code
    errors = _errors(exc.body)
    text = redact("; ".join(e.get("message") or "" for e in errors) or str(exc.reason))
    if status == 429:
        return TransientSendError(status, text, retry_after=_retry_after(exc.headers))
    if status >= 500:
        return TransientSendError(status, text, outcome_unknown=True)
    if status in (401, 403):
        return ProviderConfigurationError(status, text)
    fields = [str(e.get("field") or "") for e in errors]
    if any(f.startswith("from") for f in fields):
        return ProviderConfigurationError(status, text)
    if any(f.startswith("personalizations") and f.endswith("email") for f in fields):
        return PermanentSendError(status, text, FailureKind.INVALID_ADDRESS)
    return PermanentSendError(status, text, FailureKind.REJECTED)


def _errors(body: bytes | str | None) -> list[dict[str, Any]]:
    try:
        errors = json.loads(body or b"{}").get("errors")
    except (ValueError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def sendgrid_signature_valid(public_key: str, payload: bytes, signature: str | None,
                             timestamp: str | None, *, now: datetime,
                             max_age_seconds: int = 300) -> bool:
    """Check SendGrid's signed event webhook: ECDSA P-256 over timestamp + raw body, with the
    ``X-Twilio-Email-Event-Webhook-Signature`` / ``-Timestamp`` headers. The SDK does not
    look at the timestamp's age; a timestamp more than ``max_age_seconds`` from ``now``
    (either way) is refused, so a captured request cannot be replayed later.

    ``public_key`` is the base64 key from SendGrid's settings; a malformed key raises
    ValueError (a configuration error), a malformed request just fails."""
    verifier = EventWebhook(public_key)
    if not signature or not timestamp:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent_at) > max_age_seconds:
        return False
    try:
        return verifier.verify_signature(payload.decode("utf-8"), signature, timestamp)
    except (UnicodeDecodeError, binascii.Error):
        return False
