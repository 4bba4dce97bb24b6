"""A signed JSON webhook to a URL the practice sets (``BILLING_WEBHOOK_URL``): one POST per
posted payment or refund, for a billing system (or the glue in front of it) to record.

The body is ``PostedMoney`` as JSON. Headers:

- ``Frontdesk-Timestamp``: the Unix time of the attempt;
- ``Frontdesk-Signature``: ``v1=`` + hex HMAC-SHA256 with ``BILLING_WEBHOOK_SECRET`` over
  ``"<timestamp>.<body>"`` (the receiver recomputes it and refuses an old timestamp);
- ``Idempotency-Key``: ``frontdesk-ledger-<entry id>``, the same on every retry.

Any 2xx answer is taken; anything else (or no answer within the timeout) raises
``BillingPushError`` and the push is tried again later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import requests

from app.adapters.billing.base import BillingPushError, PostedMoney, billing_adapters
from app.core.clock import utcnow


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@billing_adapters.register("webhook")
class SignedWebhook:
    name = "webhook"

    def __init__(self, *, url: str, secret: str, timeout: float = 10.0) -> None:
        self._url, self._secret, self._timeout = url, secret, timeout

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SignedWebhook:
        return cls(url=settings["BILLING_WEBHOOK_URL"], secret=settings["BILLING_WEBHOOK_SECRET"],
                   timeout=settings["PROVIDER_TIMEOUT_SECONDS"])

    def push(self, money: PostedMoney) -> None:
        body = json.dumps(money.as_dict(), sort_keys=True, separators=(",", ":")).encode()
        timestamp = int(utcnow().timestamp())
        headers = {"Content-Type": "application/json", "Frontdesk-Timestamp": str(timestamp),
                   "Frontdesk-Signature": signature(self._secret, timestamp, body),
                   "Idempotency-Key": f"frontdesk-ledger-{money.idempotency_key}"}
        try:
            answer = requests.post(self._url, data=body, headers=headers, timeout=self._timeout,
                                   allow_redirects=False)
        except requests.RequestException as error:
            raise BillingPushError(f"not reached: {type(error).__name__}") from None
        if not 200 <= answer.status_code < 300:
            raise BillingPushError(f"answered HTTP {answer.status_code}")
