"""Database helpers shared by every domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
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
