"""The email provider interface and its registry, keyed by the ``EMAIL_PROVIDER`` setting.

Crash safety: SendGrid has no idempotency key either, and its message search needs a paid
add-on, so an email left in ``sending`` without a provider id is reconciled by the event
webhook: every send carries ``{REFERENCE_ARG: idempotency_key}`` in SendGrid's
``custom_args``, and every event SendGrid posts back (processed, delivered, bounce, ...)
carries that pair at the top level of the event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.adapters.registry import Registry
from app.adapters.sending import SendResult

REFERENCE_ARG = "frontdesk_ref"


@dataclass(frozen=True)
class EmailAttachment:
    """A file sent with an email (a staff reply's PDF or picture)."""

    filename: str
    content_type: str
    data: bytes


class EmailProvider(Protocol):
    name: str

    def send_email(self, *, to: str, subject: str, html: str, text: str,
                   idempotency_key: str, categories: Sequence[str] = (),
                   from_email: str | None = None,
                   attachments: Sequence[EmailAttachment] = ()) -> SendResult:
        """Send one email with an HTML and a plain-text part. ``idempotency_key`` and
        ``categories`` travel to the provider and back in its events: opaque, never PHI.
        ``from_email`` is the sender (default: the configured one); ``attachments`` go
        with it as files.
        Raises the classified errors of ``app.adapters.sending``."""


_providers: Registry[EmailProvider] = Registry("EMAIL_PROVIDER")
register = _providers.register


def get_email_provider(settings: Mapping[str, Any]) -> EmailProvider:
    return _providers.build(settings)


def mask_email(address: str) -> str:
    """'jane.doe@example.com' -> 'j***@example.com'."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"
