"""The audit trail: who touched which patient's data, when, from where.

``record()`` appends one event in the caller's transaction, so an audited write and its audit
row commit together. Rows are chained: each ``chain_hash`` is an HMAC (key derived from
PHI_INDEX_KEY) over the previous row's hash and this row's fields, so editing or deleting any
row breaks every later link. On PostgreSQL appends are serialized by a transaction-scoped
advisory lock so concurrent requests cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import select, text

from app.core.clock import utcnow
from app.core.types import keyring
from app.extensions import db
from app.security.models import AuditEvent

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 7_240_311  # arbitrary, fixed: "the audit chain"


def _chain_key() -> bytes:
    return keyring().derived_key("audit-chain")


def _fields(event: AuditEvent) -> str:
    occurred = event.occurred_at.isoformat(timespec="microseconds")
    return json.dumps([
        event.id, occurred, event.actor_id, event.actor_email, event.actor_role, event.action,
        event.patient_id, event.object_type, event.object_id, event.ip, event.request_id,
        event.detail,
    ], separators=(",", ":"))


def compute_hash(previous_hash: str, event: AuditEvent) -> str:
    message = f"{previous_hash}|{_fields(event)}".encode()
    return hmac.new(_chain_key(), message, hashlib.sha256).hexdigest()


def _request_facts() -> dict[str, Any]:
    if not has_request_context():
        return {"ip": None, "request_id": None}
    return {"ip": request.remote_addr, "request_id": g.get("request_id")}


def _actor_facts() -> dict[str, Any]:
    if has_request_context() and current_user and current_user.is_authenticated:
        return {"actor_id": current_user.id, "actor_email": current_user.email,
                "actor_role": current_user.role}
    return {"actor_id": None, "actor_email": None, "actor_role": None}


def record(action: str, *, patient_id: int | None = None, object_type: str | None = None,
           object_id: str | int | None = None, detail: dict[str, Any] | None = None,
           actor: Any = None, occurred_at: datetime | None = None) -> AuditEvent:
    """Append one audit event to the current transaction.

    ``actor`` overrides the signed-in user (sign-in events, CLI commands). ``detail`` must not
    hold PHI: ids, counts, field names."""
    if actor is not None:
        actor_facts = {"actor_id": actor.id, "actor_email": actor.email,
                       "actor_role": actor.role}
    else:
        actor_facts = _actor_facts()
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    previous = session.execute(
        select(AuditEvent.chain_hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    event = AuditEvent(
        occurred_at=occurred_at or utcnow(),
        action=action,
        patient_id=patient_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        chain_hash="",
        **actor_facts,
        **_request_facts(),
    )
    session.add(event)
    session.flush()  # assigns the id the hash covers
    event.chain_hash = compute_hash(previous or GENESIS, event)
    session.flush()
    return event
