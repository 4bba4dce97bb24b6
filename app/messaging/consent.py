"""The consent ledger: who may be messaged, on which channel, for what.

Consent belongs to a contact point (a phone number or an email address), because that is what
a carrier blocks and what a STOP reply revokes — for everyone who shares it. Every change is a
``ConsentEntry`` row; the current state is derived from the rows:

* A revocation of ``all`` (STOP, carrier error 21610, a staff member honouring "please stop")
  blocks every message on that channel until a later grant of ``all`` (START, staff).
* Transactional purposes (appointment, conversation, system) are allowed unless revoked for
  that purpose: the patient gave the number for their care (FCC 15-72).
* Billing and marketing need an explicit grant for that purpose (FCC 15-72 excludes billing
  from the healthcare exemption; marketing needs prior express written consent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, select

from app.extensions import db
from app.messaging.models import ConsentEntry, Purpose
from app.security import audit

ALL = "all"
NEEDS_GRANT = {Purpose.BILLING, Purpose.MARKETING}


class ConsentSource:
    KEYWORD = "keyword"        # STOP / START replied by the patient
    STAFF = "staff"            # a staff member, with their reason
    FORM = "form"              # the patient ticked a box on a form
    CARRIER = "carrier"        # Twilio 21610: the carrier holds an opt-out
    EMAIL_EVENT = "email_event"  # SendGrid unsubscribe / spam report
    EHR = "ehr"
    IMPORT = "import"


@dataclass(frozen=True)
class ConsentState:
    allowed: bool
    rule: str  # why, in words a staff member understands (shown on suppressed messages)


def record(*, practice_id: int, channel: str, contact_index: str, purpose: str, granted: bool,
           source: str, patient_id: int | None = None, staff_id: int | None = None,
           reason: str | None = None, message_id: int | None = None) -> ConsentEntry:
    """Append a consent change in the caller's transaction (and audit it)."""
    entry = ConsentEntry(practice_id=practice_id, channel=channel, contact_index=contact_index,
                         purpose=purpose, granted=granted, source=source,
                         patient_id=patient_id, staff_id=staff_id, reason=reason,
                         message_id=message_id)
    db.session.add(entry)
    db.session.flush()
    audit.record(audit.Action.CONSENT_CHANGE, patient_id=patient_id, object_type="consent",
                 object_id=entry.id, detail={"channel": channel, "purpose": purpose,
                                             "granted": granted, "source": source})
    return entry


def _latest(practice_id: int, channel: str, contact_index: str, purpose: str
            ) -> ConsentEntry | None:
    return db.session.execute(
        select(ConsentEntry).where(ConsentEntry.practice_id == practice_id,
                                   ConsentEntry.channel == channel,
                                   ConsentEntry.contact_index == contact_index,
                                   ConsentEntry.purpose == purpose)
        .order_by(ConsentEntry.id.desc()).limit(1)).scalar_one_or_none()


def state(*, practice_id: int, channel: str, contact_index: str, purpose: str) -> ConsentState:
    return state_from(lambda of: _latest(practice_id, channel, contact_index, of),
                      channel=channel, purpose=purpose)


def state_from(latest: Callable[[str], ConsentEntry | None], *, channel: str, purpose: str
               ) -> ConsentState:
    """The state derived from ``latest(purpose)``, the newest entry for a purpose (or
    ``ALL``) of one contact point: from the database, or from a batch's loaded ledger."""
    everything = latest(ALL)
    if everything is not None and not everything.granted:
        return ConsentState(False, f"opted out of all {channel} ({everything.source})")
    specific = latest(purpose)
    if purpose in NEEDS_GRANT:
        if specific is None or not specific.granted:
            return ConsentState(False, f"no {purpose} consent for {channel}")
        return ConsentState(True, f"{purpose} consent given ({specific.source})")
    if specific is not None and not specific.granted:
        return ConsentState(False, f"opted out of {purpose} {channel} ({specific.source})")
    return ConsentState(True, "transactional message to the patient's own contact")


def is_opted_out(*, practice_id: int, channel: str, contact_index: str) -> bool:
    """Whether the contact point has revoked everything (STOP) and not opted back in."""
    entry = _latest(practice_id, channel, contact_index, ALL)
    return entry is not None and not entry.granted


def opted_out_expression(*, practice_id: int | BindParameter[int], channel: str,
                         contact_index: str | BindParameter[str]) -> ColumnElement[bool]:
    """``is_opted_out`` as a SQL expression, for a query that reads it with other things."""
    latest = (select(ConsentEntry.granted)
              .where(ConsentEntry.practice_id == practice_id, ConsentEntry.channel == channel,
                     ConsentEntry.contact_index == contact_index, ConsentEntry.purpose == ALL)
              .order_by(ConsentEntry.id.desc()).limit(1).scalar_subquery())
    return latest.is_(False)


def opted_out_source(*, practice_id: int, channel: str, contact_index: str) -> str | None:
    """Who revoked everything on the contact point (a ``ConsentSource``), while it stands."""
    entry = _latest(practice_id, channel, contact_index, ALL)
    return entry.source if entry is not None and not entry.granted else None


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    channel: str
    purpose: str
    granted: bool
    source: str
    reason: str | None
    staff_id: int | None


def history(*, practice_id: int, contact_indexes: list[str]) -> list[HistoryRow]:
    """Every change for the given contact points, newest first (shown on the patient)."""
    if not contact_indexes:
        return []
    rows = db.session.execute(
        select(ConsentEntry).where(ConsentEntry.practice_id == practice_id,
                                   ConsentEntry.contact_index.in_(contact_indexes))
        .order_by(ConsentEntry.id.desc())).scalars()
    return [HistoryRow(at=r.created_at, channel=r.channel, purpose=r.purpose,
                       granted=r.granted, source=r.source, reason=r.reason,
                       staff_id=r.staff_id) for r in rows]
