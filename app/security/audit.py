"""The audit trail: who touched which patient's data, when, from where.

``record()`` adds one event to the caller's transaction, so an audited write and its audit row
commit together: one INSERT, no lock, nothing read (``record_now()`` runs that INSERT at once,
without an ORM object, for a unit of work with one event, such as an API call). The row is
inserted *unsealed* and ``seal()`` chains it after it committed (the scheduler's
``audit-seal`` job every minute, and every verification first): under a transaction-scoped
advisory lock on PostgreSQL (SQLite's write lock), committed unsealed rows get, in id order,
the next places in the chain (``chain_seq``) and their ``chain_hash``, an HMAC (key derived
from PHI_INDEX_KEY) over the previous row's hash and this row's fields, so editing or deleting
a sealed row breaks every later link. Sealing is an UPDATE of unsealed rows only (a sealed row
is never written again; the ORM refuses to change or delete any audit row) and a unique
``chain_seq`` refuses a fork. The chain follows sealing order, not id order: a row whose
transaction commits after rows with higher ids (ids are drawn before commit) is simply sealed
later, further down the chain, so no writer ever waits for another. A row is protected from
its sealing on, about a minute after it committed at most while the scheduler runs.

Each row names its practice (``practice_id``: the actor's, else the practice the unit of work
acts for; None for deployment-wide events such as a failed sign-in with an unknown email), and
an admin's viewer and export are scoped to it like every query of practice data. The chain
stays one chain for the whole deployment, so ``verify_chain()`` checks every practice's rows
at once (reading the table directly, outside practice scoping); the practice column is not
among the chained fields, because rows written before it existed were chained without it.

``verify_chain()`` walks the whole trail and names the first broken link. The chain alone
cannot notice rows deleted from its *end* (the remaining prefix is still a valid chain), so
every verification reports the last event's id and hash as a checkpoint: keep it outside the
database and hand it back as ``expect_last`` to detect truncation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update

from app.core.clock import utcnow
from app.core.tenancy import current_practice_id, refuse_other_practice
from app.core.types import keyring
from app.extensions import db
from app.security import audit_context
from app.security.models import AuditEvent

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 7_240_311  # arbitrary, fixed: "the audit chain"


class Action(StrEnum):
    """Every audited action. ``record()`` also takes the plain string ("patient.create")."""

    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SIGN_OUT = "auth.sign_out"
    IDLE_SIGN_OUT = "auth.idle_sign_out"
    ACCOUNT_LOCKED = "auth.account_locked"
    IP_BLOCKED = "auth.ip_blocked"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 (an action name)
    PASSWORD_CHANGE_FAILED = "auth.password_change_failed"  # noqa: S105 (an action name)
    STAFF_CREATE = "staff.create"
    STAFF_UPDATE = "staff.update"
    STAFF_PASSWORD_SET = "staff.password_set"  # noqa: S105 (an action name)
    KEYS_ROTATE = "keys.rotate"
    STAFF_INVITE = "staff.invite"
    STAFF_INVITE_RENEWED = "staff.invite_renewed"
    STAFF_INVITE_REVOKED = "staff.invite_revoked"
    STAFF_INVITE_ACCEPTED = "staff.invite_accepted"
    PRACTICE_UPDATE = "practice.update"
    PRACTICE_SENDERS_UPDATE = "practice.senders_update"
    LOCATION_SAVE = "location.save"
    PROVIDER_SAVE = "provider.save"
    PATIENT_VIEW = "patient.view"
    PATIENT_SEARCH = "patient.search"
    PATIENT_CREATE = "patient.create"
    PATIENT_UPDATE = "patient.update"
    PATIENT_IMPORT = "patient.import"
    PATIENT_MERGE = "patient.merge"
    PATIENT_REVIEW = "patient.review"  # flagged as resembling another, or a pair dismissed
    CONSENT_CHANGE = "consent.change"
    CONSENT_VIEW = "consent.view"
    CONVERSATION_VIEW = "conversation.view"
    MESSAGE_REVIEW = "message.review"  # staff judged a flagged message (not an opt-out)
    MESSAGE_SEND = "message.send"
    MESSAGE_RECEIVE = "message.receive"
    FORM_VIEW = "form.view"
    FORM_SEND = "form.send"
    FORM_RESPONSE_CREATE = "form.response_create"
    FORM_RESPONSE_UPDATE = "form.response_update"
    APPOINTMENT_VIEW = "appointment.view"
    APPOINTMENT_CHANGE = "appointment.change"
    BALANCE_VIEW = "balance.view"
    BALANCE_ADJUST = "balance.adjust"
    PAYMENT_LINK_SEND = "payment_link.send"
    EXPORT_CSV = "export.csv"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    LINK_INVALID = "link.invalid"
    DEMO_SEED = "demo.seed"
    FHIR_READ = "fhir.read"
    FHIR_SEARCH = "fhir.search"
    FHIR_CREATE = "fhir.create"
    FHIR_UPDATE = "fhir.update"


def _chain_key() -> bytes:
    return keyring().derived_key("audit-chain")


def _fields(event: Any) -> str:
    """The hashed fields of an ``AuditEvent`` or of a row selected from its table.

    A column added later joins the list only when it holds a value, so rows written before it
    existed still verify."""
    occurred = event.occurred_at.isoformat(timespec="microseconds")
    fields = [
        event.id, occurred, event.actor_id, event.actor_email, event.actor_role, event.action,
        event.patient_id, event.object_type, event.object_id, event.ip, event.request_id,
        event.detail,
    ]
    if event.client_request_id is not None:
        fields.append({"client_request_id": event.client_request_id})
    return json.dumps(fields, separators=(",", ":"))


def _link(key: bytes, previous_hash: str, event: Any) -> str:
    message = f"{previous_hash}|{_fields(event)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _origin_facts() -> dict[str, Any]:
    origin = audit_context.current_origin()
    return {"ip": origin.ip, "request_id": origin.request_id,
            "client_request_id": origin.client_request_id}


def _practice_of(actor: Any) -> int | None:
    """The practice an event belongs to: the actor's (a staff user or an API client), else
    the practice the unit of work acts for; None for deployment-wide events."""
    practice_id = getattr(actor, "practice_id", None)
    return practice_id if practice_id is not None else current_practice_id()


def _actor_facts(actor: Any) -> dict[str, Any]:
    if actor is None:
        return {"actor_id": None, "actor_email": None, "actor_role": None}
    return {"actor_id": actor.id, "actor_email": actor.email, "actor_role": actor.role}


def record(action: str, *, patient_id: int | None = None, object_type: str | None = None,
           object_id: str | int | None = None, detail: dict[str, Any] | None = None,
           actor: Any = None, occurred_at: datetime | None = None) -> AuditEvent:
    """Add one audit event to the current transaction (inserted, unsealed, at its next flush).

    ``action`` is an ``Action`` or its string value. ``actor`` overrides the actor of the
    unit of work (``audit_context``: the signed-in staff member, else the system), e.g. the
    user signing in or the API token. ``detail`` must not hold PHI: ids, counts, field names."""
    event = AuditEvent(**_event_values(action, patient_id=patient_id, object_type=object_type,
                                       object_id=object_id, detail=detail, actor=actor,
                                       occurred_at=occurred_at))
    db.session.add(event)
    return event


def record_now(action: str, *, patient_id: int | None = None,
               object_type: str | None = None, object_id: str | int | None = None,
               detail: dict[str, Any] | None = None, actor: Any = None) -> None:
    """``record()`` as one INSERT in the current transaction now, with no ORM object: for a
    unit of work that records a single event and commits right after (an API call), where
    the ORM's flush would cost more than the statement. Refuses, as a flush would, an event
    of another practice than the one the unit of work acts for."""
    values = _event_values(action, patient_id=patient_id, object_type=object_type,
                           object_id=object_id, detail=detail, actor=actor, occurred_at=None)
    refuse_other_practice("AuditEvent", values["practice_id"])
    db.session.execute(_INSERT_EVENT, values)


_INSERT_EVENT = insert(AuditEvent.__table__)


def _event_values(action: str, *, patient_id: int | None, object_type: str | None,
                  object_id: str | int | None, detail: dict[str, Any] | None, actor: Any,
                  occurred_at: datetime | None) -> dict[str, Any]:
    actor_facts = _actor_facts(actor if actor is not None else audit_context.current_actor())
    return {
        "practice_id": _practice_of(actor),
        "occurred_at": occurred_at or utcnow(),
        "action": str(action),
        "patient_id": patient_id,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        **actor_facts,
        **_origin_facts(),
    }


def seal(*, batch_size: int = 1000) -> int:
    """Chain every committed unsealed event, in batches of ``batch_size`` each committed;
    how many were sealed. Run by the scheduler every minute and before every verification."""
    key = _chain_key()
    sealed = 0
    while True:
        count = _seal_batch(key, batch_size)
        db.session.commit()
        sealed += count
        if count < batch_size:
            return sealed


def _seal_batch(key: bytes, batch_size: int) -> int:
    session = db.session
    table = AuditEvent.__table__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    else:  # a write first takes SQLite's write lock, so no other sealer runs until commit
        session.execute(update(table).where(table.c.id < 0).values(chain_seq=None))
    # Statements begun after the lock was granted: they see every row sealed before it.
    last = session.execute(select(table.c.chain_seq, table.c.chain_hash)
                           .where(table.c.chain_seq.is_not(None))
                           .order_by(table.c.chain_seq.desc()).limit(1)).first()
    seq, previous = (last.chain_seq, last.chain_hash) if last is not None else (0, GENESIS)
    rows = session.execute(select(table).where(table.c.chain_seq.is_(None))
                           .order_by(table.c.id).limit(batch_size)).all()
    links = []
    for row in rows:
        seq += 1
        previous = _link(key, previous, row)
        links.append({"row_id": row.id, "seq": seq, "hash": previous})
    if links:
        session.execute(update(table).where(table.c.id == bindparam("row_id"),
                                            table.c.chain_seq.is_(None))
                        .values(chain_seq=bindparam("seq"), chain_hash=bindparam("hash")),
                        links)
    return len(rows)


@dataclass(frozen=True)
class BrokenLink:
    """The first row whose hash does not follow from the row before it in the chain."""

    id: int
    occurred_at: datetime
    action: str
    previous_id: int | None
    adjacent: bool  # the previous row's place in the chain is the one just before this row's

    @property
    def explanation(self) -> str:
        if self.previous_id is None:
            return (f"row {self.id} does not start the chain: a row before it was deleted, "
                    f"or row {self.id} was edited")
        if self.adjacent:
            return f"row {self.id} was edited after it was written"
        return (f"row {self.id} does not follow row {self.previous_id}: a row between them "
                f"was deleted, or row {self.id} was edited")


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the trail: events verified, the break if any, the checkpoint."""

    verified: int
    broken: BrokenLink | None
    last_id: int | None
    last_hash: str | None
    checkpoint_problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None and self.checkpoint_problem is None


def _rows(batch_size: int) -> Iterator[Any]:
    """Every sealed audit row in chain order, ``batch_size`` rows in memory at a time."""
    table = AuditEvent.__table__
    after = 0
    while True:
        batch = db.session.execute(
            select(table).where(table.c.chain_seq > after).order_by(table.c.chain_seq)
            .limit(batch_size)
        ).all()
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].chain_seq


def verify_chain(*, expect_last: tuple[int, str] | None = None,
                 batch_size: int = 1000) -> ChainReport:
    """Seal what is committed (``seal``), then recompute every link in chain order and stop
    at the first that does not match.

    ``expect_last`` is an earlier checkpoint ``(id, chain_hash)``: the report fails when that
    event is gone or differs, which is how trailing deletions (truncation) are caught."""
    seal(batch_size=batch_size)
    key = _chain_key()
    previous_id: int | None = None
    previous_seq = 0
    previous_hash = GENESIS
    verified = 0
    checkpoint_hash: str | None = None
    for row in _rows(batch_size):
        if _link(key, previous_hash, row) != row.chain_hash:
            broken = BrokenLink(id=row.id, occurred_at=row.occurred_at, action=row.action,
                                previous_id=previous_id,
                                adjacent=row.chain_seq == previous_seq + 1)
            return ChainReport(verified=verified, broken=broken,
                               last_id=previous_id, last_hash=previous_hash)
        if expect_last is not None and row.id == expect_last[0]:
            checkpoint_hash = row.chain_hash
        verified += 1
        previous_id, previous_seq, previous_hash = row.id, row.chain_seq, row.chain_hash
    return ChainReport(verified=verified, broken=None, last_id=previous_id,
                       last_hash=previous_hash if previous_id is not None else None,
                       checkpoint_problem=_checkpoint_problem(expect_last, checkpoint_hash,
                                                              previous_id))


def _checkpoint_problem(expect_last: tuple[int, str] | None, found_hash: str | None,
                        last_id: int | None) -> str | None:
    if expect_last is None:
        return None
    expected_id, expected_hash = expect_last
    if found_hash is None:
        ends = f"it now ends at event {last_id}" if last_id is not None else "it is now empty"
        return (f"checkpoint event {expected_id} is missing: events were deleted from the end "
                f"of the trail ({ends})")
    if found_hash != expected_hash.lower():
        return (f"event {expected_id} does not match the checkpoint hash: events at the end "
                f"of the trail were deleted and replaced after the checkpoint was taken")
    return None
