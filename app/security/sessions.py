"""Staff sessions held on the server: the cookie carries only a random session id.

A session is a ``StaffSession`` row keyed by the SHA-256 of its id (the database never holds
an id that works), so it can be ended from here: at sign-out, after ``SESSION_IDLE_MINUTES``
without a request (activity is written at most once a minute, ``touch``),
``SESSION_ABSOLUTE_HOURS`` after sign-in whatever the activity, and for
every session of an account whose password changes or that is disabled. A copied cookie
stops working the moment its row is ended. The scheduler's ``staff-sessions`` job deletes
rows that can no longer be used.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select, update

from app.core import clock
from app.core.tenancy import across_practices
from app.extensions import db
from app.security.models import StaffSession, StaffUser

KEEP_ENDED = timedelta(days=1)  # ended and expired rows stay this long, then are pruned
TOUCH_EVERY = timedelta(minutes=1)  # how stale the recorded activity may be (``touch``)
USER_AGENT_LENGTH = 200
F = TypeVar("F", bound=Callable[..., Any])


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(*, user: StaffUser, absolute_hours: int, ip: str | None,
          user_agent: str | None) -> tuple[StaffSession, str]:
    """Open a session for ``user``: the row, and the id only the cookie will hold. Commits."""
    now = clock.utcnow()
    session_id = secrets.token_urlsafe(32)
    row = StaffSession(
        id_hash=_digest(session_id), user_id=user.id, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=absolute_hours), ip=ip,
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None)
    db.session.add(row)
    db.session.commit()
    return row, session_id


def find_live(session_id: str) -> tuple[StaffSession, StaffUser] | None:
    """The session ``session_id`` names if it may still be used (not ended, within its
    absolute lifetime, its account active) and its account, in one query. Idle time is
    judged by the caller, which can tell the staff member why they were signed out."""
    if not session_id or len(session_id) > 100:
        return None
    with across_practices():  # whose practice the request is for is what this decides
        found = db.session.execute(
            select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.id_hash == _digest(session_id), StaffSession.ended_at.is_(None),
                   StaffSession.expires_at > clock.utcnow(), StaffUser.active.is_(True))
        ).one_or_none()
    return None if found is None else (found[0], found[1])


def is_idle(row: StaffSession, *, idle_minutes: int) -> bool:
    return clock.utcnow() - row.last_seen_at > timedelta(minutes=idle_minutes)


def passive(view: F) -> F:
    """Declare a view that a page calls by itself (the inbox's live refresh): serving it is
    not activity, so a screen left open still signs out after the idle time."""
    view.passive = True  # type: ignore[attr-defined]
    return view


def is_passive(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "passive", False))


def touch(row: StaffSession) -> None:
    """A request was served: the idle time starts again. Written (and committed) only once
    the recorded activity is ``TOUCH_EVERY`` old: a busy screen's requests do not each pay
    a write, and the idle sign-out may come up to that much sooner."""
    now = clock.utcnow()
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()


def end(row: StaffSession, *, reason: str) -> None:
    """End one session (sign-out, idle) in the caller's transaction."""
    row.ended_at = clock.utcnow()
    row.ended_reason = reason


def end_all(*, user_id: int, reason: str) -> int:
    """End every open session of an account (password change or reset, disabling) in the
    caller's transaction; return how many."""
    result = db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=clock.utcnow(), ended_reason=reason))
    return result.rowcount


def prune(*, now: datetime | None = None) -> int:
    """Delete sessions ended or expired more than a day ago; return how many. Commits."""
    cutoff = (now or clock.utcnow()) - KEEP_ENDED
    result = db.session.execute(delete(StaffSession).where(or_(
        StaffSession.ended_at < cutoff, StaffSession.expires_at < cutoff)))
    db.session.commit()
    return result.rowcount
