"""Database helpers shared by every domain."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db


def insert_unless_exists(target: type | Table, values: dict[str, Any], *,
                         unique_on: list[str]) -> Any | None:
    """INSERT ... ON CONFLICT DO NOTHING on a model or table: the new row's (first) primary
    key, or None when a row with the same ``unique_on`` values exists. Safe under concurrency
    on PostgreSQL and SQLite, and it never breaks the caller's transaction the way a caught
    IntegrityError would."""
    table: Table = target if isinstance(target, Table) else target.__table__  # type: ignore[attr-defined]
    session = db.session
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(table).values(**values)
                 .on_conflict_do_nothing(index_elements=unique_on)
                 .returning(list(table.primary_key.columns)[0]))
    return session.execute(statement).scalar_one_or_none()


def insert_returning_unless_exists(model: type, values: dict[str, Any], *,
                                   unique_on: list[str]) -> Any | None:
    """``insert_unless_exists`` on a model that returns the new row as a loaded ORM object
    (no SELECT to read it back), or None when a row with the same ``unique_on`` exists."""
    session = db.session
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(model).values(**values).on_conflict_do_nothing(index_elements=unique_on)
                 .returning(model))
    return session.execute(statement).scalar_one_or_none()


def upsert_returning(model: type, values: dict[str, Any], *, unique_on: list[str],
                     update: dict[str, Any]) -> Any:
    """INSERT the row, or when one with the same ``unique_on`` values exists set ``update``
    on it; either way the row as a loaded ORM object, in one statement (which locks an
    existing row until the transaction ends, as an UPDATE would)."""
    session = db.session
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(model).values(**values)
                 .on_conflict_do_update(index_elements=unique_on, set_=update)
                 .returning(model))
    return session.execute(statement,
                           execution_options={"populate_existing": True}).scalar_one()


def insert_many_unless_exists(target: type | Table, rows: list[dict[str, Any]], *,
                              unique_on: list[str]) -> int:
    """``insert_unless_exists`` for many rows in one statement; how many were inserted."""
    if not rows:
        return 0
    table: Table = target if isinstance(target, Table) else target.__table__  # type: ignore[attr-defined]
    session = db.session
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(table).on_conflict_do_nothing(index_elements=unique_on)
                 .returning(list(table.primary_key.columns)[0]))
    return len(session.execute(statement, rows).all())  # SQLAlchemy's "insertmanyvalues"


def hold_lock(namespace: str, key: str) -> None:
    """Hold a lock named (``namespace``, ``key``) until the current transaction ends, so that
    transactions which count rows and then add one cannot interleave: what one commits, the
    next counts. PostgreSQL: a transaction-scoped advisory lock. SQLite, which has one writer
    at a time: the database write lock, taken now by a write that changes nothing (the
    connection waits for it, up to its busy timeout). Take it before the transaction reads
    what it will count; take several in the same order everywhere."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
                        {"namespace": _lock_number(namespace), "key": _lock_number(key)})
    else:
        session.execute(text("UPDATE practice SET id = id WHERE id IS NULL"))


def seconds_since(earliest: Any, now: datetime) -> float:
    """Age in seconds of a ``min(...)`` of a UTC datetime column read with Core (0 for None
    or a future time). SQLite hands such an aggregate back as text, without its zone."""
    if earliest is None:
        return 0.0
    if isinstance(earliest, str):
        earliest = datetime.fromisoformat(earliest)
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return max((now - earliest).total_seconds(), 0.0)


def try_lock(namespace: str, key: str) -> bool:
    """``hold_lock`` without waiting: True when this transaction now holds the lock, False
    when another holds it. SQLite has no such lock: always True there (its writers take turns
    on the database write lock instead)."""
    session = db.session
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(
        text("SELECT pg_try_advisory_xact_lock(:namespace, :key)"),
        {"namespace": _lock_number(namespace), "key": _lock_number(key)}).scalar_one())


def _lock_number(name: str) -> int:
    """A signed 32-bit number for an advisory lock, derived from ``name``."""
    return zlib.crc32(name.encode()) - 2**31
