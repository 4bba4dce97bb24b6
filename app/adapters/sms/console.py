"""Development SMS: logs the message id and size instead of sending it, never the text.

The text (codes, names, times) and the recipient stay out of the console log: the dev outbox
page shows them to whoever may see the outbox.

It keeps nothing itself (no state is shared between requests or workers): the outbox row
is the record of what was "sent", and the dev outbox page reads those rows. It never calls
back, so a console message stays ``sent``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from app.adapters.sending import SendResult
from app.adapters.sms.base import SmsSender, register
from app.adapters.sms.segments import count_segments

log = logging.getLogger(__name__)


@register("console")
class ConsoleSms:
    name = "console"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ConsoleSms:
        return cls()

    def send_sms(self, *, to: str, body: str, status_callback_url: str | None,
                 idempotency_key: str, sender: SmsSender | None = None) -> SendResult:
        provider_message_id = f"console-{uuid.uuid4().hex}"
        log.info("SMS %s (key %s): %d characters, %d segment(s)", provider_message_id,
                 idempotency_key, len(body), count_segments(body).segments)
        return SendResult(provider_message_id, "sent")

    def fetch_status(self, provider_message_id: str) -> SendResult | None:
        if provider_message_id.startswith("console-"):
            return SendResult(provider_message_id, "sent")
        return None

    def find_sent(self, *, to: str, body: str, created_after: datetime,
                  exclude_ids: Collection[str] = (), sender: SmsSender | None = None
                  ) -> SendResult | None:
        """Nothing leaves the process, so a message without an id was never "sent"."""
        return None
