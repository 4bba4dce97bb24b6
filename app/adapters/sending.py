"""What every outbound-message adapter returns or raises, whatever the channel.

A send ends in exactly one of four ways, and each tells the dispatcher what to do next:

* ``SendResult`` — the provider accepted the message; record ``provider_message_id``.
* ``PermanentSendError`` — this message can never be sent as it is; mark it failed, do not
  retry, and act on ``kind`` (flag the contact point, record the carrier's opt-out, ...).
* ``TransientSendError`` — try again later (429, 5xx, timeouts, connection errors). When
  ``outcome_unknown`` is true the request may have reached the provider and been acted on,
  so the message must be reconciled (``find_sent`` / status callback) before any resend.
* ``ProviderConfigurationError`` — the provider refused *us* (credentials, sender). Every
  message would fail alike: leave the message as it is, stop sending, alert an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class SendResult:
    """The provider's view of one message: its id and its status in the provider's words
    (Twilio: accepted, queued, sending, sent, delivered, undelivered, failed, ...)."""

    provider_message_id: str
    status: str
    error_code: int | None = None


class FailureKind(StrEnum):
    INVALID_NUMBER = "invalid_number"  # not a number, unroutable, landline: flag the phone
    OPTED_OUT = "opted_out"  # the carrier holds a STOP for this number: record an opt-out
    INVALID_ADDRESS = "invalid_address"  # email address refused: flag the email
    REJECTED = "rejected"  # the provider refused this message (content, size, region)


class SendError(Exception):
    """Base of the classified provider errors. ``code`` is the provider's error code."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message


class PermanentSendError(SendError):
    def __init__(self, code: int | None, message: str, kind: FailureKind) -> None:
        super().__init__(code, message)
        self.kind = kind


class TransientSendError(SendError):
    def __init__(self, code: int | None, message: str, *, retry_after: float | None = None,
                 outcome_unknown: bool = False) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class ProviderConfigurationError(SendError):
    """Credentials or sender refused (HTTP 401/403): no message can succeed until fixed."""


_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+")


def redact(text: str) -> str:
    """Provider error texts echo the recipient ("The 'To' number +1415... is not valid");
    strip phone numbers and email addresses so an error can be logged and stored."""
    return _EMAIL.sub("[address]", _PHONE.sub("[number]", text))
