"""Stripe Checkout under faults: ``clients`` threads open ``sessions`` Checkout Sessions through
the billing adapter (``StripeCheckout``, the real SDK) against the fake Stripe on loopback,
which fails a share of them (429, 500, slow answers, timeouts), beside the same number of
bare HTTP POSTs to the same fake (no SDK): the ceiling. Every session the fake created must be
one the adapter got back or one whose answer timed out (``unaccounted`` must be 0), and every
refusal must be an injected fault.

    .venv/bin/python -m bench.checkout_burst [--sessions 1000] [--clients 4] [--faults 0.2]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from app.adapters.payments.base import CheckoutRequest, PaymentProviderError
from app.adapters.payments.stripe_checkout import StripeCheckout
from tests.billing.fake_stripe import FakeStripe

SECRET = "sk_test_bench"


def _request(n: int) -> CheckoutRequest:
    return CheckoutRequest(amount_cents=12000, currency="usd", description="Balance",
                           reference=f"pr_{n}", success_url="https://clinic.example/paid",
                           cancel_url="https://clinic.example/cancelled",
                           metadata={"payment_request": str(n)})


def measure(*, sessions: int, clients: int, faults: float, seed: int = 16) -> dict[str, Any]:
    with FakeStripe(secret_key=SECRET, faults=faults, timeout_seconds=1.0, seed=seed) as fake:
        adapter = StripeCheckout(secret_key=SECRET, api_base_url=fake.url, timeout=1.0)
        opened, refused = [], []
        lock = threading.Lock()

        def open_one(n: int) -> None:
            try:
                session = adapter.create_checkout(_request(n))
            except PaymentProviderError:
                with lock:
                    refused.append(n)
            else:
                with lock:
                    opened.append(session.session_id)

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(open_one, range(sessions)))
        elapsed = time.perf_counter() - started
        created = fake.created["checkout.session"]
        injected = dict(fake.fault_counts)
        fake.faults = 0.0
        local = threading.local()

        def bare(n: int) -> None:
            local.session = getattr(local, "session", None) or requests.Session()
            local.session.post(f"{fake.url}/v1/checkout/sessions", timeout=5,
                               headers={"Authorization": f"Bearer {SECRET}"},
                               data={"mode": "payment", "client_reference_id": f"bare_{n}"})

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(bare, range(sessions)))
        ceiling = sessions / (time.perf_counter() - started)
    result = {"sessions": sessions, "opened": len(opened), "refused": len(refused),
              "created_at_fake": created, "faults_injected": injected,
              "unaccounted": created - len(opened) - injected.get("timeout", 0),
              "unexplained_refusals": len(refused) - sum(
                  injected.get(kind, 0) for kind in ("429", "500", "timeout")),
              "per_second": sessions / elapsed, "ceiling_per_second": ceiling}
    print(f"checkout burst: {result['per_second']:,.0f} sessions/s through the SDK "
          f"(ceiling {ceiling:,.0f}/s bare POSTs); opened {len(opened)}, refused "
          f"{len(refused)}, faults {injected}, unaccounted {result['unaccounted']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--faults", type=float, default=0.2)
    args = parser.parse_args()
    measure(sessions=args.sessions, clients=args.clients, faults=args.faults)


if __name__ == "__main__":
    main()
