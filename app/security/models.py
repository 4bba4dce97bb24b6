from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import UTCDateTime
from app.extensions import db


class StaffUser(PracticeScoped, db.Model):
    """A person at the practice who signs in. Staff emails are work addresses, not PHI."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(db.Model):
    """A signed-in staff session (app/security/sessions.py). The cookie holds a random id;
    this row holds only its SHA-256, so a copy of the table signs nobody in."""

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # sign_out, idle, password_change, password_set, disabled
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class SignInAttempt(db.Model):
    """Every sign-in attempt; recent failures drive the per-account and per-IP lockouts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(PracticeScoped, db.Model):
    """Append-only, hash-chained record of every access to patient data and every sign-in.

    A row is inserted unsealed and sealed once, after it committed (``audit.seal``):
    ``chain_seq`` is its place in the chain and ``chain_hash`` an HMAC over its fields and the
    previous row's ``chain_hash``; ``flask audit verify`` recomputes the chain and names the
    first row that does not match. ``detail`` holds ids and counts, never PHI."""

    __table_args__ = (Index("ix_audit_event_chain_seq", "chain_seq", unique=True),
                      # the rows the sealer has yet to chain: few, found by id
                      Index("ix_audit_event_unsealed", "id",
                            postgresql_where=text("chain_seq IS NULL"),
                            sqlite_where=text("chain_seq IS NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The practice whose data or staff the event is about; None for deployment-wide events
    # (a failed sign-in with an unknown email, a key rotation). Not part of the chained fields:
    # rows written before the column existed were chained without it.
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practice.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_email: Mapped[str | None] = mapped_column(String(254))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(36))  # ours, generated per request
    # What the client sent as X-Request-ID (bounded, app/web/headers.py), for correlation only.
    client_request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)  # None until sealed
    chain_hash: Mapped[str | None] = mapped_column(String(64))  # None until sealed


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _events_are_immutable(mapper, connection, target) -> None:  # noqa: ANN001
    raise ValueError("audit events are never changed or deleted (only audit.seal chains them)")


class UsedLinkToken(db.Model):
    """Single-use patient links already spent, by their random token id."""

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffInvitation(PracticeScoped, db.Model):
    """An admin's invitation for a new staff member: a signed, expiring, single-use link
    (``LinkPurpose.STAFF_INVITATION``) whose token id is kept here, so issuing a new link or
    revoking the invitation makes the old link worthless."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
