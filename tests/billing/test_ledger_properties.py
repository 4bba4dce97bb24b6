"""The ledger's arithmetic, for any sequence of entries (hypothesis): the balance is the sum
of the entries, the aging buckets sum to the balance, and a refund never exceeds what is left
of its payment — in the pure functions and through the posting service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.billing import accounts, ledger
from app.billing.models import EntryKind
from tests import factories

TODAY = date(2026, 6, 10)

lines = st.lists(st.builds(
    ledger.Line, amount_cents=st.integers(-500_000, 500_000).filter(bool),
    on=st.integers(0, 400).map(lambda days: TODAY - timedelta(days=days))), max_size=40)


@given(lines)
def test_balance_is_the_sum_and_the_buckets_sum_to_it(entries):
    aging = ledger.aging(entries, today=TODAY)
    assert ledger.balance(entries) == sum(e.amount_cents for e in entries)
    assert aging.total == ledger.balance(entries)


@given(lines)
def test_only_what_is_owed_is_aged_past_current(entries):
    aging = ledger.aging(entries, today=TODAY)
    for older in (aging.days_31_60, aging.days_61_90, aging.over_90):
        assert older >= 0


def test_payments_pay_the_oldest_charge_first():
    entries = [ledger.Line(10_000, TODAY - timedelta(days=100)),
               ledger.Line(5_000, TODAY - timedelta(days=45)),
               ledger.Line(-12_000, TODAY)]
    assert ledger.aging(entries, today=TODAY) == ledger.Aging(0, 3_000, 0, 0)


@given(st.integers(1, 1_000_000), st.lists(st.integers(1, 1_000_000), max_size=8))
def test_refundable_never_goes_below_zero_nor_above_the_payment(payment, refunds):
    left = ledger.refundable(payment, refunds)
    assert 0 <= left <= payment


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 9_000), min_size=1, max_size=6))
def test_the_posting_service_never_refunds_more_than_the_payment(app, refunds):
    practice = factories.make_practice()
    patient = factories.make_patient(practice)
    payment = accounts.post(patient=patient, kind=EntryKind.PATIENT_PAYMENT,
                            amount_cents=-10_000, description="Card payment")
    refunded = 0
    for cents in refunds:
        if refunded + cents > 10_000:
            with pytest.raises(accounts.LedgerInputError, match="amount"):
                accounts.post_refund(practice_id=practice.id, payment_id=payment.id,
                                     amount_cents=cents)
        else:
            accounts.post_refund(practice_id=practice.id, payment_id=payment.id,
                                 amount_cents=cents)
            refunded += cents
    assert accounts.refunded_cents(payment) == refunded <= 10_000
    account = accounts.account(practice_id=practice.id, patient_id=patient.id, audited=False)
    assert account.balance_cents == -10_000 + refunded == account.aging.total
