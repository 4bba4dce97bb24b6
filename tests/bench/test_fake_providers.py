"""The harness's fake SendGrid and Stripe: the real SDKs, through the adapters and their
base-URL settings, reach them on loopback; they keep and count what arrives and inject 429s,
500s, slow answers and timeouts the way the adapters must classify them."""

from __future__ import annotations

import time

import pytest
import stripe

from app.adapters.email.base import REFERENCE_ARG
from app.adapters.email.sendgrid import SendGridEmail
from app.adapters.payments.base import CheckoutRequest, PaymentProviderError
from app.adapters.payments.stripe_checkout import StripeCheckout
from app.adapters.sending import ProviderConfigurationError, TransientSendError
from tests.billing.fake_stripe import FakeStripe
from tests.fake_provider import FAULT_KINDS, SLOW_SECONDS
from tests.messaging.fake_sendgrid import FakeSendGrid

API_KEY = "SG.fake-key"
SECRET = "sk_test_fake"


# The client's timeout sits well above the fake's slow answer (SLOW_SECONDS) so that a busy CI
# machine cannot turn a slow answer into a timeout; a 0.5 s timeout once did.
CLIENT_TIMEOUT = 1.2


def send(email: SendGridEmail, n: int) -> str:
    return email.send_email(to=f"patient{n}@example.com", subject="Your visit",
                            html="<p>See you</p>", text="See you",
                            idempotency_key=f"bench:{n}").provider_message_id


def checkout(n: int) -> CheckoutRequest:
    return CheckoutRequest(amount_cents=12000, currency="usd", description="Balance",
                           reference=f"pr_{n}", success_url="https://clinic.example/paid",
                           cancel_url="https://clinic.example/cancelled",
                           metadata={"payment_request": str(n)},
                           customer_email="payer@example.com")


def test_sendgrid_keeps_each_mail_with_our_reference_and_answers_as_sendgrid_does():
    with FakeSendGrid(api_key=API_KEY) as fake:
        email = SendGridEmail(api_key=API_KEY, from_email="desk@clinic.example",
                              api_base_url=fake.url, timeout=2)
        ids = [send(email, n) for n in range(3)]
        with pytest.raises(ProviderConfigurationError):  # a wrong key: SendGrid's 401
            send(SendGridEmail(api_key="SG.wrong", from_email="desk@clinic.example",
                               api_base_url=fake.url), 9)

        assert ids == [mail.message_id for mail in fake.mails] and len(set(ids)) == 3
        assert fake.reference_counts() == {"bench:0": 1, "bench:1": 1, "bench:2": 1}
        assert [mail.to for mail in fake.mails][0] == "patient0@example.com"
        assert fake.calls["mail.send"] == 4
        event = fake.processed_events()[0]
        assert (event["event"], event[REFERENCE_ARG]) == ("processed", "bench:0")
        assert event["sg_message_id"].split(".")[0] == ids[0]


def test_sendgrid_faults_are_what_the_adapter_retries_and_what_it_cannot_know():
    # seed 2 draws every fault kind at least twice in the first twelve calls
    with FakeSendGrid(api_key=API_KEY, faults=1.0, timeout_seconds=CLIENT_TIMEOUT,
                      seed=2) as fake:
        email = SendGridEmail(api_key=API_KEY, from_email="desk@clinic.example",
                              api_base_url=fake.url, timeout=CLIENT_TIMEOUT)
        outcomes = {}
        for n in range(12):
            started = time.monotonic()
            try:
                send(email, n)
                outcomes.setdefault("sent", []).append(time.monotonic() - started)
            except TransientSendError as error:
                outcomes.setdefault((error.code, error.outcome_unknown), []).append(n)

        assert set(fake.fault_counts) == set(FAULT_KINDS)
        assert len(outcomes[(429, False)]) == fake.fault_counts["429"]  # retry, it did not go
        assert len(outcomes[(500, True)]) == fake.fault_counts["500"]
        assert len(outcomes[(None, True)]) == fake.fault_counts["timeout"]  # it went, unseen
        assert min(outcomes["sent"]) >= SLOW_SECONDS  # the slow answers still arrive
        assert len(fake.mails) == fake.fault_counts["slow"] + fake.fault_counts["timeout"]


def test_stripe_checkout_sessions_payment_intents_and_refunds_through_the_sdk():
    with FakeStripe(secret_key=SECRET) as fake:
        adapter = StripeCheckout(secret_key=SECRET, api_base_url=fake.url, timeout=2)
        session = adapter.create_checkout(checkout(1))
        kept = fake.objects[session.session_id]
        assert session.url == kept["url"] and session.session_id.startswith("cs_test_")
        assert (kept["client_reference_id"], kept["metadata"], kept["amount_total"]) == (
            "pr_1", {"payment_request": "1"}, 12000)

        client = stripe.StripeClient(SECRET, base_addresses={"api": fake.url},
                                     max_network_retries=0)
        assert client.v1.checkout.sessions.retrieve(session.session_id).id == session.session_id
        intent = client.v1.payment_intents.create(params={"amount": 5000, "currency": "usd"})
        options = {"idempotency_key": "refund-1"}
        refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2000},
                                          options=options)
        again = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2000},
                                         options=options)
        assert (refund.status, again.id) == ("succeeded", refund.id)  # replayed, not created
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 9000})
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.retrieve("pi_unknown")
        with pytest.raises(stripe.AuthenticationError):
            stripe.StripeClient("sk_test_wrong", base_addresses={"api": fake.url}
                                ).v1.payment_intents.create(params={"amount": 1,
                                                                    "currency": "usd"})

        assert fake.created == {"checkout.session": 1, "payment_intent": 1, "refund": 1}
        assert fake.calls["create refund"] == 3


def test_stripe_faults_refuse_the_checkout_and_a_timeout_leaves_a_session_behind():
    with FakeStripe(secret_key=SECRET, faults=1.0, timeout_seconds=CLIENT_TIMEOUT,
                    seed=2) as fake:
        adapter = StripeCheckout(secret_key=SECRET, api_base_url=fake.url,
                                 timeout=CLIENT_TIMEOUT)
        refused = 0
        for n in range(12):
            try:
                adapter.create_checkout(checkout(n))
            except PaymentProviderError:
                refused += 1

        assert set(fake.fault_counts) == set(FAULT_KINDS)
        assert refused == 12 - fake.fault_counts["slow"]
        assert fake.created["checkout.session"] == (fake.fault_counts["slow"]
                                                    + fake.fault_counts["timeout"])
