"""The SMS provider interface and its registry, keyed by the ``SMS_PROVIDER`` setting.

Build one provider per worker process with ``get_sms_provider(app.config)`` and reuse it:
the real providers hold a pooled HTTP connection.

Crash safety without provider idempotency: Twilio has no idempotency key, so a worker that
dies between the API call and its commit leaves a message in ``sending`` with no provider id.
Two ways reconcile it before any resend:

1. the status callback — put the outbox row's opaque id in ``status_callback_url``'s query
   string; Twilio calls it back (sent/delivered/failed) with the MessageSid;
2. ``find_sent`` — list recent messages to the number and match the body (see TwilioSms).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from app.adapters.registry import Registry
from app.adapters.sending import SendResult


@dataclass(frozen=True)
class SmsSender:
    """Who a text goes out from: a Messaging Service, else a number (E.164). A provider given
    none (or an empty one) sends from the sender it was configured with."""

    messaging_service_sid: str | None = None
    from_number: str | None = None

    def __bool__(self) -> bool:
        return bool(self.messaging_service_sid or self.from_number)


class SmsProvider(Protocol):
    name: str

    def send_sms(self, *, to: str, body: str, status_callback_url: str | None,
                 idempotency_key: str, sender: SmsSender | None = None) -> SendResult:
        """Send ``body`` to ``to`` (E.164) from ``sender`` (default: the configured one).
        Raises the classified errors of ``app.adapters.sending``. ``idempotency_key`` is
        opaque and never PHI."""

    def fetch_status(self, provider_message_id: str) -> SendResult | None:
        """The provider's current view of a message, or None if it does not know the id."""

    def find_sent(self, *, to: str, body: str, created_after: datetime,
                  exclude_ids: Collection[str] = (), sender: SmsSender | None = None
                  ) -> SendResult | None:
        """A message from ``sender`` (default: the configured one) with exactly this
        recipient and body created at or after
        ``created_after`` (UTC) whose id is not in ``exclude_ids``, or None.

        For reconciling a message left in ``sending`` with no provider id. Pass the
        provider ids already recorded for other messages to the same number as
        ``exclude_ids`` so two identical texts are never taken for one."""


_providers: Registry[SmsProvider] = Registry("SMS_PROVIDER")
register = _providers.register


def get_sms_provider(settings: Mapping[str, Any]) -> SmsProvider:
    return _providers.build(settings)


def mask_phone(e164: str) -> str:
    """'+14155550134' -> '********0134': enough to tell numbers apart in a log."""
    return "*" * max(len(e164) - 4, 0) + e164[-4:]
