"""A fake Stripe API on 127.0.0.1, for tests and benchmarks that drive the real ``stripe`` SDK
(through ``STRIPE_API_BASE_URL``, the adapter's ``base_addresses``) from other processes.

The calls the billing code makes, or may make, in Stripe's shapes (form-encoded requests with
``Authorization: Bearer sk_...``, JSON objects back):

* ``POST /v1/checkout/sessions`` (``StripeCheckout.create_checkout``) — a ``checkout.session``
  with its ``url``, ``client_reference_id`` and ``metadata`` as sent; ``GET`` one by id;
* ``POST /v1/payment_intents``, ``GET /v1/payment_intents/<id>``;
* ``POST /v1/refunds`` for a payment intent this fake created (at most its amount).

A repeated ``Idempotency-Key`` replays the first answer and creates nothing, as Stripe does. A
wrong key is Stripe's 401, an unknown id its 404 ``resource_missing``. Faults as
``tests/fake_provider.py`` injects them on the creates, with Stripe's error bodies (429
``rate_limit``, 500 ``api_error``). ``created`` counts what was created, by object.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from tests.fake_provider import Answer, Call, FakeProvider

_CREATES = {"/v1/checkout/sessions": "checkout.session", "/v1/payment_intents": "payment_intent",
            "/v1/refunds": "refund"}
_PREFIXES = {"checkout.session": "cs_test_", "payment_intent": "pi_", "refund": "re_"}


def _error(status: int, kind: str, message: str, code: str | None = None) -> Answer:
    return Answer(status, {"error": {"type": kind, "message": message,
                                     **({"code": code} if code else {})}},
                  {"Request-Id": "req_fake"})


class FakeStripe(FakeProvider):
    def __init__(self, *, secret_key: str, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.secret_key = secret_key
        self.objects: dict[str, dict[str, Any]] = {}
        self.created: Counter[str] = Counter()
        self._replies: dict[str, Answer] = {}  # Idempotency-Key -> first answer
        self._store_lock = threading.Lock()
        self._ids = itertools.count(1)

    def kind_of(self, call: Call) -> str:
        found = _CREATES.get(call.path)
        if found and call.method == "POST":
            return f"create {found}"
        return f"{call.method} {call.path.rsplit('/', 1)[0]}"

    def creates(self, call: Call) -> bool:
        return call.method == "POST" and call.path in _CREATES

    def fault_answer(self, kind: str) -> Answer:
        if kind == "429":
            return _error(429, "invalid_request_error", "Too many requests hit the API too "
                          "quickly.", "rate_limit")
        return _error(500, "api_error", "An unknown error occurred.")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._store_lock:
            return [item for item in self.objects.values() if item["object"] == kind]

    def handle(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {self.secret_key}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        form = dict(parse_qsl(call.body.decode()))
        if call.method == "POST" and call.path in _CREATES:
            key = call.headers.get("idempotency-key")
            with self._store_lock:
                if key and key in self._replies:
                    return self._replies[key]
                answer = self._create(_CREATES[call.path], form)
                if key:
                    self._replies[key] = answer
                return answer
        if call.method == "GET":
            with self._store_lock:
                found = self.objects.get(call.path.rsplit("/", 1)[-1])
            if found is not None and call.path.rsplit("/", 1)[0] in _CREATES:
                return Answer(200, found)
        return _error(404, "invalid_request_error", f"No such object: {call.path}",
                      "resource_missing")

    def _create(self, kind: str, form: dict[str, str]) -> Answer:
        """(Holding the store lock.)"""
        item_id = f"{_PREFIXES[kind]}{next(self._ids):024d}"
        metadata = {name[len("metadata["):-1]: value for name, value in form.items()
                    if name.startswith("metadata[")}
        if kind == "checkout.session":
            amount = int(form.get("line_items[0][price_data][unit_amount]", "0"))
            item = {"id": item_id, "object": kind, "mode": form.get("mode", "payment"),
                    "url": f"https://checkout.stripe.test/c/pay/{item_id}",
                    "client_reference_id": form.get("client_reference_id"),
                    "customer_email": form.get("customer_email"), "metadata": metadata,
                    "amount_total": amount,
                    "currency": form.get("line_items[0][price_data][currency]", "usd"),
                    "payment_status": "unpaid", "status": "open", "payment_intent": None,
                    "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url")}
        elif kind == "payment_intent":
            item = {"id": item_id, "object": kind, "amount": int(form.get("amount", "0")),
                    "currency": form.get("currency", "usd"), "metadata": metadata,
                    "status": "requires_payment_method", "description": form.get("description")}
        else:
            intent = self.objects.get(form.get("payment_intent", ""))
            amount = int(form.get("amount", intent["amount"] if intent else "0"))
            if intent is None or intent["object"] != "payment_intent":
                return _error(404, "invalid_request_error", "No such payment_intent.",
                              "resource_missing")
            if amount > intent["amount"]:
                return _error(400, "invalid_request_error", "Refund amount is greater than "
                              "the charge.", "amount_too_large")
            item = {"id": item_id, "object": kind, "amount": amount,
                    "payment_intent": intent["id"], "metadata": metadata,
                    "status": "succeeded"}
        self.objects[item_id] = item
        self.created[kind] += 1
        return Answer(200, item, {"Request-Id": f"req_{item_id}"})
