"""Column types every model uses: UTC datetimes and encrypted PHI.

Domain code reads and writes plain Python values; the database only ever sees UTC timestamps
and ciphertext. Encryption needs the app's keyring, so these types run inside an app context
(every request, CLI command and job has one).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator

from app.core.crypto import Keyring

# The instants the app keeps: clear of datetime's smallest and largest (converting to UTC
# there overflows) and with four-digit years in every format.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def utc_in_range(moment: datetime) -> datetime | None:
    """An aware ``moment`` in UTC; None when it lies outside [EARLIEST, LATEST)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    return utc if EARLIEST <= utc < LATEST else None


def keyring() -> Keyring:
    return current_app.extensions["frontdesk.keyring"]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """A PHI string encrypted with AES-GCM; ``context`` (e.g. "patient.given_name") is bound
    into the ciphertext so a value cannot be moved to another column."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(str(value), context=self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring().decrypt(value, context=self.context)


class EncryptedDate(TypeDecorator[date]):
    """A PHI date (date of birth) encrypted like EncryptedText."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: date | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(value.isoformat(), context=self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> date | None:
        if value is None:
            return None
        return date.fromisoformat(keyring().decrypt(value, context=self.context))
