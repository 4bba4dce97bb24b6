"""Development email: logs the message id and size, never the recipient, subject or text
(the dev outbox page shows those).

Like the console SMS provider it keeps nothing: the outbox rows are the dev outbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from app.adapters.email.base import EmailAttachment, register
from app.adapters.sending import SendResult

log = logging.getLogger(__name__)


@register("console")
class ConsoleEmail:
    name = "console"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ConsoleEmail:
        return cls()

    def send_email(self, *, to: str, subject: str, html: str, text: str,
                   idempotency_key: str, categories: Sequence[str] = (),
                   from_email: str | None = None,
                   attachments: Sequence[EmailAttachment] = ()) -> SendResult:
        provider_message_id = f"console-{uuid.uuid4().hex}"
        log.info("Email %s (key %s): %d characters of text, %d of HTML, %d attachments",
                 provider_message_id, idempotency_key, len(text), len(html), len(attachments))
        return SendResult(provider_message_id, "sent")
