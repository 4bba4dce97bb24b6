"""The patient's side of a payment link: the page the link opens, the hosted checkout it
starts, and the demo provider's checkout (approve or decline).

The page shows the practice, the amount and the account's itemized lines (descriptions such
as "Visit on 2026-06-10": never a clinical detail). Checkout is started only when the patient
presses Pay, so a link opened days after it was sent gets a fresh provider session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from app.adapters.payments import (
    CheckoutRequest,
    PaymentProviderError,
    get_payment_provider,
)
from app.adapters.payments.demo import DEMO_CARDS
from app.billing import accounts, cards, payments
from app.billing.models import PaymentPlan, PaymentRequest, RequestStatus
from app.billing.wording import describe
from app.core.clock import utcnow
from app.core.tenancy import across_practices
from app.extensions import db
from app.practice.models import Practice
from app.practice.practices import practice_zone

MAX_ITEMS = 24


class CheckoutRefused(Exception):
    """The request cannot take a payment now: ``reason`` is paid, expired or unavailable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Item:
    on: date
    description: str
    amount_cents: int


@dataclass(frozen=True)
class PayPage:
    request_id: int
    practice_name: str
    amount_cents: int
    balance_cents: int
    status: str
    items: list[Item]
    aging: dict[str, int]
    card_offer: cards.CardOffer | None = None  # may keep the card for the plan's installments


def practice_of(request_id: str) -> int | None:
    """The practice a link's request belongs to (the link's page then acts for it)."""
    if not request_id.isdigit() or len(request_id) > 18:
        return None
    with across_practices():
        request = db.session.get(PaymentRequest, int(request_id))
    return request.practice_id if request else None


def open_page(*, practice_id: int, request_id: int) -> PayPage:
    """What the link shows; the first view marks the request opened."""
    request = db.session.get(PaymentRequest, request_id)
    now = utcnow()
    if request.status == RequestStatus.SENT and now < request.expires_at:
        request.status, request.opened_at = RequestStatus.OPENED, now
    practice = db.session.get(Practice, practice_id)
    account = accounts.account(practice_id=practice_id, patient_id=request.patient_id,
                               audited=False)
    zone = practice_zone(practice_id)
    items = [Item(e.posted_at.astimezone(zone).date(), describe(e.description), e.amount_cents)
             for e in account.entries[-MAX_ITEMS:]]
    page = PayPage(request_id=request.id, practice_name=practice.name,
                   amount_cents=request.amount_cents, balance_cents=account.balance_cents,
                   status=request.state(now), items=items, aging=account.aging.as_dict(),
                   card_offer=cards.offer(request))
    db.session.commit()
    return page


def patient_of(*, practice_id: int, request_id: int) -> int:
    request = db.session.get(PaymentRequest, request_id)
    return request.patient_id


def start(*, practice_id: int, request_id: int, return_url: str,
          save_card: bool = False) -> str:
    """Open the provider's checkout for the request's amount; the URL to send the patient
    to. ``return_url`` is the link's own page (success adds ``/done``). ``save_card``: the
    patient ticked the plan's saved-card agreement (recorded here, with its source)."""
    request = db.session.get(PaymentRequest, request_id)
    state = request.state(utcnow())
    if state != RequestStatus.OPENED and state != RequestStatus.SENT:
        raise CheckoutRefused(state)
    practice = db.session.get(Practice, practice_id)
    provider = get_payment_provider(current_app.config)
    saving = cards.record_agreement(request=request, agreed=save_card)
    try:
        session = provider.create_checkout(CheckoutRequest(
            amount_cents=request.amount_cents, currency="usd",
            description=f"Payment to {practice.name}"[:120], reference=f"pr{request.id}",
            success_url=f"{return_url}/done", cancel_url=return_url,
            metadata={"payment_request": str(request.id), "patient": str(request.patient_id),
                      "practice": str(practice_id)}, save_card=saving))
    except PaymentProviderError:
        raise CheckoutRefused("unavailable") from None
    request.provider, request.provider_session_id = provider.name, session.session_id
    if request.status == RequestStatus.SENT:
        request.status, request.opened_at = RequestStatus.OPENED, utcnow()
    db.session.commit()
    return session.url


def demo_request(session_id: str) -> PaymentRequest | None:
    """The request a demo checkout session belongs to."""
    with across_practices():
        return db.session.execute(select(PaymentRequest).where(
            PaymentRequest.provider == "demo",
            PaymentRequest.provider_session_id == session_id)).scalar_one_or_none()


def demo_saves_card(request: PaymentRequest) -> bool:
    """The patient agreed to keep the card: the demo page offers cards that behave
    differently on later charges."""
    offer = cards.offer(request)
    plan = db.session.get(PaymentPlan, offer.plan_id) if offer else None
    return bool(plan and plan.card_agreed_at)


def demo_pay(*, session_id: str, card: str) -> payments.Outcome | None:
    """The demo card: approved (``card`` one of ``DEMO_CARDS``), it completes like a Stripe
    checkout, saving the card where the patient agreed; declined, nothing happens (None)
    and the patient may try again."""
    request = demo_request(session_id)
    if request is None or card not in DEMO_CARDS:
        return None
    cards.card_saved(request_id=str(request.id), provider="demo",
                     customer_ref=f"demo_cus_{request.guarantor_id}", method_ref=DEMO_CARDS[card])
    return payments.checkout_paid(payments.CheckoutPaid(
        provider="demo", event_id=f"demo:{session_id}", session_id=session_id,
        amount_cents=request.amount_cents, request_id=str(request.id)))


