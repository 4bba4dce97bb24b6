"""A fake SendGrid v3 Mail Send API on 127.0.0.1, for tests and benchmarks that drive the real
``sendgrid`` SDK (through ``SENDGRID_API_BASE_URL``) from other processes.

``POST /v3/mail/send`` with ``Authorization: Bearer <api_key>`` and SendGrid's JSON: the mail is
kept (recipient, subject, our ``REFERENCE_ARG`` from ``custom_args``) and answered 202 with an
``X-Message-Id``, as SendGrid does; a wrong key is SendGrid's 401, a mail without a recipient,
sender, subject or content its 400 naming the field. Faults as ``tests/fake_provider.py``
injects them, with SendGrid's error bodies.

SendGrid has no API to ask whether a mail went: its event webhook tells. ``processed_events``
are the ``processed`` events it would post for every mail it kept (one per mail, stable ids),
for a harness to hand to ``app.messaging.delivery_events.apply_sendgrid_events``.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.adapters.email.base import REFERENCE_ARG
from tests.fake_provider import Answer, Call, FakeProvider

MAIL_SEND = "/v3/mail/send"


@dataclass(frozen=True)
class FakeMail:
    message_id: str
    to: str
    subject: str
    reference: str | None  # custom_args[REFERENCE_ARG]: the outbox message's key
    received: datetime


def _errors(*errors: tuple[str, str | None]) -> dict:
    return {"errors": [{"message": message, "field": field, "help": None}
                       for message, field in errors]}


class FakeSendGrid(FakeProvider):
    def __init__(self, *, api_key: str, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.api_key = api_key
        self._mails: list[FakeMail] = []
        self._mail_lock = threading.Lock()
        self._ids = itertools.count(1)
        # Its event webhook's verification key, for an app that requires one to send mail.
        self.webhook_public_key = base64.b64encode(
            ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).decode()

    @property
    def mails(self) -> list[FakeMail]:
        with self._mail_lock:
            return list(self._mails)

    def reference_counts(self) -> Counter[str | None]:
        """How many times each outbox message (by its reference) reached the fake."""
        return Counter(mail.reference for mail in self.mails)

    def processed_events(self) -> list[dict]:
        return [{"email": mail.to, "event": "processed",
                 "timestamp": int(mail.received.timestamp()),
                 "sg_event_id": f"fake-processed-{mail.message_id}",
                 "sg_message_id": f"{mail.message_id}.filter0001.1.0",
                 **({REFERENCE_ARG: mail.reference} if mail.reference else {})}
                for mail in self.mails]

    def kind_of(self, call: Call) -> str:
        return "mail.send" if call.path == MAIL_SEND else f"{call.method} {call.path}"

    def creates(self, call: Call) -> bool:
        return call.method == "POST" and call.path == MAIL_SEND

    def fault_answer(self, kind: str) -> Answer:
        if kind == "429":
            return Answer(429, _errors(("too many requests", None)))
        return Answer(500, _errors(("internal server error", None)))

    def handle(self, call: Call) -> Answer:
        if call.method != "POST" or call.path != MAIL_SEND:
            return Answer(404, _errors(("not found", None)))
        if call.headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer(401, _errors(("The provided authorization grant is invalid, "
                                        "expired, or revoked", None)))
        try:
            mail = json.loads(call.body)
            to = mail["personalizations"][0]["to"][0]["email"]
        except (ValueError, KeyError, IndexError, TypeError):
            return Answer(400, _errors(("The to array is required for all personalization "
                                        "objects", "personalizations.0.to")))
        for name, present in (("from", (mail.get("from") or {}).get("email")),
                              ("subject", mail.get("subject")), ("content", mail.get("content"))):
            if not present:
                return Answer(400, _errors((f"The {name} field is required.", name)))
        with self._mail_lock:
            kept = FakeMail(message_id=f"fake{next(self._ids):018x}", to=to,
                            subject=mail["subject"],
                            reference=(mail.get("custom_args") or {}).get(REFERENCE_ARG),
                            received=datetime.now(UTC))
            self._mails.append(kept)
        return Answer(202, None, {"X-Message-Id": kept.message_id})
