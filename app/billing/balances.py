"""The practice's balances list, computed by the database: one row per account with its
balance and aging buckets, filtered, ordered and paged in SQL, so the list costs the same
whatever the size of the ledger.

It is the ledger's own rule (``ledger.aging``), written as a query: credits pay the oldest
debits first, so what is left of a debit is ``clamp(running_debits - credits, 0, amount)``
(the running sum of the account's debits, oldest first, up to this one); each remainder is
aged by the day it was posted, in the practice's zone. Instead of converting timestamps to
local days in SQL (SQLite cannot), the buckets' edges are computed here as UTC instants: the
local midnights 30, 60 and 90 days before today. A credit left over sits in "current"
(``current += balance - everything still owed``), so the buckets sum to the balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select

from app.billing import accounts, ledger
from app.billing.models import LedgerEntry
from app.extensions import db
from app.patients.models import Patient
from app.practice.practices import practice_zone

PAGE_SIZE = 50


@dataclass(frozen=True)
class BalanceRow:
    patient: Patient
    balance_cents: int
    aging: ledger.Aging


@dataclass(frozen=True)
class BalancePage:
    rows: list[BalanceRow]
    total: int  # accounts matching the filter
    page: int
    pages: int


def bucket_edges(practice_id: int) -> list[datetime]:
    """The first instants (UTC) of the local days 30, 60 and 90 days before today: an entry
    at or after the first is current, and so on."""
    zone, today = practice_zone(practice_id), accounts.practice_today(practice_id)
    edges = []
    for days in (30, 60, 90):
        day = today - timedelta(days=days)
        edges.append(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC))
    return edges


def _accounts(practice_id: int):  # noqa: ANN202  (a subquery)
    entry = LedgerEntry
    mine = entry.practice_id == practice_id
    b30, b60, b90 = bucket_edges(practice_id)
    bucket = case((entry.posted_at >= b30, 0), (entry.posted_at >= b60, 1),
                  (entry.posted_at >= b90, 2), else_=3)
    credits = (select(entry.guarantor_id.label("g"), (-func.sum(entry.amount_cents)).label("c"))
               .where(mine, entry.amount_cents < 0).group_by(entry.guarantor_id).subquery())
    debits = select(
        entry.guarantor_id.label("g"), entry.amount_cents.label("amount"), bucket.label("b"),
        func.sum(entry.amount_cents).over(partition_by=entry.guarantor_id,
                                          order_by=(entry.posted_at, entry.id),
                                          rows=(None, 0)).label("running"),
    ).where(mine, entry.amount_cents > 0).subquery()
    unpaid = debits.c.running - func.coalesce(credits.c.c, 0)
    left = select(debits.c.g, debits.c.b, case(
        (unpaid <= 0, 0), (unpaid >= debits.c.amount, debits.c.amount), else_=unpaid,
    ).label("left")).outerjoin(credits, credits.c.g == debits.c.g).subquery()
    aged = select(left.c.g, func.sum(left.c.left).label("owed"), *[
        func.sum(case((left.c.b == n, left.c.left), else_=0)).label(f"b{n}") for n in range(4)
    ]).group_by(left.c.g).subquery()
    totals = (select(entry.guarantor_id.label("g"), func.sum(entry.amount_cents).label("balance"))
              .where(mine).group_by(entry.guarantor_id).subquery())
    owed = [func.coalesce(aged.c[f"b{n}"], 0) for n in range(4)]
    return select(
        totals.c.g, totals.c.balance,
        (owed[0] + totals.c.balance - func.coalesce(aged.c.owed, 0)).label("current"),
        owed[1].label("days_31_60"), owed[2].label("days_61_90"), owed[3].label("over_90"),
    ).outerjoin(aged, aged.c.g == totals.c.g).where(totals.c.balance != 0).subquery()


def balances_page(*, practice_id: int, bucket: str | None, page: int = 1) -> BalancePage:
    """Accounts with a balance, largest first, ``PAGE_SIZE`` a page; ``bucket`` keeps those
    owing in that aging bucket (current, 31_60, 61_90, over_90)."""
    rows = _accounts(practice_id)
    column = {"current": rows.c.current, "31_60": rows.c.days_31_60,
              "61_90": rows.c.days_61_90, "over_90": rows.c.over_90}.get(bucket or "")
    matching = select(rows).where(column > 0) if column is not None else select(rows)
    total = db.session.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    found = db.session.execute(matching.order_by(rows.c.balance.desc(), rows.c.g)
                               .limit(PAGE_SIZE).offset((min(page, pages) - 1) * PAGE_SIZE)).all()
    patients = {p.id: p for p in db.session.execute(
        select(Patient).where(Patient.id.in_([row.g for row in found]))).scalars()}
    return BalancePage(
        rows=[BalanceRow(patients[row.g], int(row.balance), ledger.Aging(
            int(row.current), int(row.days_31_60), int(row.days_61_90), int(row.over_90)))
            for row in found],
        total=total, page=min(page, pages), pages=pages)
