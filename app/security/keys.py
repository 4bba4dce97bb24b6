"""PHI key rotation: re-encrypt every stored value under the current key.

Rotation works on raw ciphertext with Core statements (no ORM objects, no type decorators):
for each ``EncryptedText``/``EncryptedDate`` column, rows whose value does not already start with
``fd1:<current key id>:`` are read in primary-key order, decrypted with whichever configured
key they name and encrypted with the current one. Each batch commits on its own, so a run that
is stopped loses nothing: every value is either old-key or new-key ciphertext, both keys
decrypt, and running again carries on where it stopped. An update only lands if the value is
still the one read (compare-and-swap), so a concurrent edit by the app is never overwritten.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.config import DEV_PHI_ENCRYPTION_KEY, DEV_PHI_INDEX_KEY
from app.core.clock import utcnow
from app.core.crypto import PREFIX, DecryptionError, Keyring, generate_key
from app.core.types import EncryptedDate, EncryptedText, keyring
from app.extensions import db
from app.security import audit

UNKNOWN_KEY = "unknown"


class RotationRefused(Exception):
    """Rotation cannot start or go on; the message says what to change."""


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    primary_key: str
    context: str

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def raw_table(self) -> sa.TableClause:
        """The table as plain text columns, so no type decorator touches the values."""
        return sa.table(self.table, sa.column(self.primary_key),
                        sa.column(self.column, sa.Text()))


@dataclass
class RotationResult:
    current_key_id: str
    rotated: dict[str, int] = field(default_factory=dict)  # column label -> rows re-encrypted
    finished: bool = False

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def generate_key_entry() -> str:
    """A fresh ``kid:base64`` entry for PHI_ENCRYPTION_KEY; the id names the day it was made."""
    key_id = f"k{utcnow():%Y%m%d}{secrets.token_hex(2)}"
    return f"{key_id}:{generate_key()}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column in the models, found by its type, in table order."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, EncryptedText | EncryptedDate):
                continue
            primary = list(table.primary_key.columns)
            if len(primary) != 1:
                raise RotationRefused(
                    f"{table.name}.{column.name}: an encrypted column needs a one-column "
                    "primary key to be rotated")
            found.append(EncryptedColumn(table=table.name, column=column.name,
                                         primary_key=primary[0].name,
                                         context=column.type.context))
    return found


def _prefix(key_id: str) -> str:
    return f"{PREFIX}:{key_id}:"


def _starts_with(value: sa.ColumnElement, prefix: str) -> sa.ColumnElement[bool]:
    # substr + equality is case-sensitive on both databases (SQLite's LIKE is not).
    return sa.func.substr(value, 1, len(prefix)) == prefix


def key_status() -> dict[str, dict[str, int]]:
    """Rows per key id for every encrypted column; values under a key that is not configured
    are counted as ``unknown``."""
    ring = keyring()
    status: dict[str, dict[str, int]] = {}
    for column in encrypted_columns():
        table = column.raw_table()
        value = table.c[column.column]
        counts = [sa.func.count(value)] + [
            sa.func.coalesce(sa.func.sum(sa.case((_starts_with(value, _prefix(key_id)), 1),
                                                 else_=0)), 0)
            for key_id in ring.keys
        ]
        total, *per_key = db.session.execute(sa.select(*counts).select_from(table)).one()
        row = dict(zip(ring.keys, per_key, strict=True))
        unknown = total - sum(per_key)
        if unknown:
            row[UNKNOWN_KEY] = unknown
        status[column.label] = row
    return status


def _check_can_rotate(ring: Keyring) -> None:
    dev_ring = Keyring.from_settings(DEV_PHI_ENCRYPTION_KEY, DEV_PHI_INDEX_KEY)
    if ring.keys[ring.current_id] in dev_ring.keys.values():
        raise RotationRefused(
            "PHI_ENCRYPTION_KEY is not configured: the current key is the built-in development "
            "key. Put a key of your own first ('flask keys generate') and the old keys after "
            "it, e.g. 'new:...,old:...'")
    blocked = [label for label, counts in key_status().items() if counts.get(UNKNOWN_KEY)]
    if blocked:
        raise RotationRefused(
            "values encrypted with a key that PHI_ENCRYPTION_KEY does not list were found in "
            f"{', '.join(blocked)}: add the old key after the current one and run again")


def rotate(*, batch_size: int = 500, max_batches: int | None = None,
           on_batch: Callable[[EncryptedColumn, int], None] | None = None) -> RotationResult:
    """Re-encrypt every value not under the current key, ``batch_size`` rows per commit.

    ``max_batches`` stops early (the result says ``finished=False``); ``on_batch`` is told the
    column and the rows re-encrypted after each commit."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ring = keyring()
    _check_can_rotate(ring)
    result = RotationResult(current_key_id=ring.current_id)
    batches = 0
    for column in encrypted_columns():
        result.rotated[column.label] = 0
        last_id = None
        while True:
            if max_batches is not None and batches >= max_batches:
                _audit(result)
                return result
            rows, last_id = _read_batch(column, ring, batch_size, last_id)
            if not rows:
                break
            done = _rewrite_batch(column, ring, rows)
            db.session.commit()
            batches += 1
            result.rotated[column.label] += done
            if on_batch:
                on_batch(column, done)
            if len(rows) < batch_size:
                break
    result.finished = True
    _audit(result)
    return result


def _read_batch(column: EncryptedColumn, ring: Keyring, batch_size: int,
                after: object) -> tuple[list[tuple[object, str]], object]:
    table = column.raw_table()
    key, value = table.c[column.primary_key], table.c[column.column]
    query = (sa.select(key, value)
             .where(value.is_not(None), sa.not_(_starts_with(value, _prefix(ring.current_id))))
             .order_by(key).limit(batch_size))
    if after is not None:
        query = query.where(key > after)
    rows = [(row[0], row[1]) for row in db.session.execute(query)]
    return rows, (rows[-1][0] if rows else after)


def _rewrite_batch(column: EncryptedColumn, ring: Keyring,
                   rows: list[tuple[object, str]]) -> int:
    table = column.raw_table()
    key, value = table.c[column.primary_key], table.c[column.column]
    done = 0
    for row_id, stored in rows:
        try:
            plain = ring.decrypt(stored, context=column.context)
        except DecryptionError as error:
            db.session.rollback()
            raise RotationRefused(f"{column.label} row {row_id}: {error}; "
                                  "nothing in this batch was changed") from None
        fresh = ring.encrypt(plain, context=column.context)
        changed = db.session.execute(
            sa.update(table).where(key == row_id, value == stored).values({column.column: fresh}))
        done += changed.rowcount
    return done


def _audit(result: RotationResult) -> None:
    audit.record("keys.rotate", object_type="encryption_key", object_id=result.current_key_id,
                 detail={"rows": result.total, "finished": result.finished})
    db.session.commit()
