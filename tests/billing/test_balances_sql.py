"""The balances list is one SQL query: its balance and aging buckets per account, its aging
filters and its pages match the ledger's own derivation (``ledger.aging`` over each account's
entries) on varied ledgers: many accounts, credits larger than debits, entries a minute
either side of the practice's local midnights that bound the buckets."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from app.billing import accounts, balances, ledger, queries
from app.billing.models import EntryKind, LedgerEntry
from app.core import clock
from app.extensions import db
from tests import factories


def _post_at(patient, cents: int, at: datetime) -> None:  # noqa: ANN001
    kind = EntryKind.CHARGE if cents > 0 else EntryKind.PATIENT_PAYMENT
    with clock.frozen_at(at):
        accounts.post(patient=patient, kind=kind, amount_cents=cents, description="Visit")


def _moment(practice, days_ago: int, minute: int) -> datetime:  # noqa: ANN001
    """``minute`` minutes after the local midnight ``days_ago`` days before today."""
    zone = accounts.practice_zone(practice.id)
    day = accounts.practice_today(practice.id) - timedelta(days=days_ago)
    return datetime.combine(day, time(0), zone) + timedelta(minutes=minute)


def _expected(practice_id: int, bucket: str | None = None) -> list[tuple[int, int, tuple]]:
    """What the ledger's Python derivation says, in the list's order."""
    zone, today = accounts.practice_zone(practice_id), accounts.practice_today(practice_id)
    by_account: dict[int, list[ledger.Line]] = {}
    for entry in db.session.query(LedgerEntry).filter_by(practice_id=practice_id):
        by_account.setdefault(entry.guarantor_id, []).extend(accounts.lines([entry], zone))
    rows = []
    for guarantor, lines in by_account.items():
        aging = ledger.aging(lines, today=today)
        assert aging.total == ledger.balance(lines)
        if aging.total == 0 or (bucket and aging.as_dict()[bucket] <= 0):
            continue
        rows.append((guarantor, aging.total, tuple(aging.as_dict().values())))
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def _listed(practice_id: int, bucket: str | None = None) -> list[tuple[int, int, tuple]]:
    rows, page = [], 1
    while True:
        found = balances.balances_page(practice_id=practice_id, bucket=bucket, page=page)
        rows += [(r.patient.id, r.balance_cents, tuple(r.aging.as_dict().values()))
                 for r in found.rows]
        assert found.total == len(_expected(practice_id, bucket))
        if page >= found.pages:
            return rows
        page += 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sql_list_matches_the_ledger_on_a_varied_practice(app, practice, monkeypatch,
                                                               seed):
    monkeypatch.setattr(balances, "PAGE_SIZE", 4)
    rng = random.Random(seed)
    for _ in range(14):
        patient = factories.make_patient(practice)
        for _ in range(rng.randint(0, 9)):
            days = rng.choice([rng.randint(0, 200), 30, 31, 60, 61, 90, 91])
            minute = rng.choice([1, 1439, rng.randint(0, 1439)])
            cents = rng.choice([1, -1]) * rng.randint(1, 40_000)
            _post_at(patient, cents if rng.random() < 0.7 else -abs(cents),
                     _moment(practice, days, minute))
    db.session.commit()
    assert _listed(practice.id) == _expected(practice.id)
    for bucket in ledger.BUCKETS:
        assert _listed(practice.id, bucket) == _expected(practice.id, bucket)


def test_another_practices_entries_are_not_listed(app, practice):
    other = factories.make_practice(name="Other Dental", timezone="America/New_York")
    _post_at(factories.make_patient(other), 5000, clock.utcnow())
    mine = factories.make_patient(practice)
    _post_at(mine, 700, clock.utcnow())
    db.session.commit()
    assert [r.patient.id for r in queries.balances(practice_id=practice.id).rows] == [mine.id]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(-30_000, 30_000).filter(bool),
                          st.integers(0, 130), st.integers(0, 1439)), max_size=18))
def test_any_ledger_lists_as_the_ledger_derives_it(app, practice, entries):
    db.session.execute(delete(LedgerEntry))  # a fresh ledger for each example (bulk: no ORM rule)
    patients = getattr(practice, "_hypothesis_patients", None) or [
        factories.make_patient(practice) for _ in range(3)]
    practice._hypothesis_patients = patients
    for who, cents, days, minute in entries:
        _post_at(patients[who], cents, _moment(practice, days, minute))
    db.session.commit()
    assert _listed(practice.id) == _expected(practice.id)
    assert _listed(practice.id, "61_90") == _expected(practice.id, "61_90")
