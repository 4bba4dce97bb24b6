"""The published slot files (SMART Scheduling Links), computed at most once a minute per
process and location, and again as soon as a booking changes the schedule.

Aggregators poll these files, often many at once; each costs a slot-engine run over
``SCHEDULING_LINKS_DAYS`` days. Every process (gunicorn worker) keeps its own copy for
``SCHEDULING_LINKS_CACHE_SECONDS`` (0: compute every time); a booking, move, cancellation or
status change committed in this process empties it (``init_app`` subscribes to the booking
events and empties the cache after the commit, so a reader never caches the state before it).
Other processes' copies, and changes of hours or time off, age out within the cache time —
the same minute ``Cache-Control: max-age=60`` lets any HTTP cache keep the file. Only one
computation runs at a time in a process, so a burst of pollers costs one.

Each entry also holds the file gzip-compressed (once per fill, never per request: NDJSON
shrinks about tenfold), with its own ETag, for the pollers that send ``Accept-Encoding: gzip``.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.events import subscribe
from app.scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    AppointmentStatusChanged,
)

_STALE = "frontdesk.slot_files_stale"


@dataclass(frozen=True)
class CachedFile:
    """The file as UTF-8 (``body``) and gzip-compressed (``gzipped``), each with its ETag:
    two encodings are two representations, so their validators differ."""

    body: bytes
    etag: str
    gzipped: bytes
    gzip_etag: str

    @classmethod
    def of(cls, text: str) -> CachedFile:
        body = text.encode()
        etag = hashlib.sha1(body, usedforsecurity=False).hexdigest()
        return cls(body, etag, gzip_bytes(body), etag + "-gzip")

    def encoded(self, *, gzip_accepted: bool) -> tuple[bytes, str, str | None]:
        """Body, ETag and Content-Encoding (None: identity) for a client that does or does
        not accept gzip."""
        if gzip_accepted:
            return self.gzipped, self.gzip_etag, "gzip"
        return self.body, self.etag, None


def gzip_bytes(body: bytes) -> bytes:
    """gzip at level 6 (zlib's default: most of level 9's size at a fraction of its time),
    with no timestamp, so the same file always compresses to the same bytes."""
    return gzip.compress(body, compresslevel=6, mtime=0)


class SlotFileCache:
    def __init__(self, max_age: timedelta) -> None:
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[datetime, CachedFile]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], str], *, now: datetime) -> CachedFile:
        if not self.max_age:
            return CachedFile.of(compute())
        found = self._fresh(key, now)
        if found is not None:
            return found
        with self._lock:  # one computation at a time; the others then find it done
            found = self._fresh(key, now)
            if found is None:
                found = CachedFile.of(compute())
                self._entries[key] = (now, found)
            return found

    def clear(self) -> None:
        self._entries.clear()

    def _fresh(self, key: Hashable, now: datetime) -> CachedFile | None:
        entry = self._entries.get(key)
        if entry is None or not timedelta(0) <= now - entry[0] < self.max_age:
            return None
        return entry[1]


def cache() -> SlotFileCache:
    return current_app.extensions["frontdesk.slot_files"]


def init_app(app: Flask) -> None:
    app.extensions["frontdesk.slot_files"] = SlotFileCache(
        timedelta(seconds=app.config["SCHEDULING_LINKS_CACHE_SECONDS"]))
    for kind in (AppointmentBooked, AppointmentRescheduled, AppointmentCancelled,
                 AppointmentStatusChanged):
        subscribe(kind)(_mark_stale)
    if not event.contains(Session, "after_commit", _empty_after_commit):
        event.listen(Session, "after_commit", _empty_after_commit)
        event.listen(Session, "after_rollback", _forget_mark)


def _mark_stale(_event: object) -> None:
    from app.extensions import db

    db.session.info[_STALE] = True


def _empty_after_commit(session: Session) -> None:
    if session.info.pop(_STALE, False) and has_app_context():
        cache().clear()


def _forget_mark(session: Session) -> None:
    session.info.pop(_STALE, None)
