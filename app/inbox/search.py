"""Inbox search without PHI in a URL: the posted text is kept encrypted in an ``InboxSearch``
row and the list's URL carries only its random token, good for the staff member who posted
it for ``TOKEN_HOURS``. The text finds patients through the patient search's blind indexes
(name, date of birth, phone) and, for a phone number or an email address, a conversation
with an unknown sender too (the conversation's own blind index). A phone number goes from
its blind index to patient ids without reading a patient row (the list then audits the
patients it shows); names and birth dates go through the patient search."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, delete, select

from app.core import phones
from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.inbox.models import InboxSearch
from app.patients import lookups
from app.patients.models import Patient
from app.patients.queries import InvalidSearch, search_patients
from app.security import blind_index

TOKEN_HOURS = 8
MAX_QUERY_LENGTH = 100
_PHONE_TEXT = re.compile(r"^[\d\s()+.\-]+$")


class SearchRefused(FieldErrors):
    """The search text cannot be used (``q``), or the token is unknown or expired."""


@dataclass(frozen=True)
class Found:
    query: str
    # the patients' ids; for a phone number the query that selects them, which the list
    # runs inside its own look-up of their conversations (one statement fewer)
    patient_ids: list[int] | Select[tuple[int]]
    contact_indexes: list[str]


def create(*, practice_id: int, staff_id: int, query: str) -> str:
    """Keep ``query`` for this staff member; its token. Commits."""
    text = " ".join(query.split())
    if not text:
        raise SearchRefused({"q": _("Type a name, a date of birth or a phone number.")})
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchRefused({"q": _("Use at most %(max)d characters.", max=MAX_QUERY_LENGTH)})
    now = utcnow()
    db.session.execute(delete(InboxSearch).where(
        InboxSearch.created_at < now - timedelta(hours=TOKEN_HOURS)))
    token = secrets.token_urlsafe(18)
    db.session.add(InboxSearch(practice_id=practice_id, staff_id=staff_id, token=token,
                               query=text, created_at=now))
    db.session.commit()
    return token


def resolve(*, practice_id: int, staff_id: int, token: str) -> Found:
    """What the token's search finds; ``SearchRefused`` for another's, expired or unknown
    token, or text the patient search cannot read."""
    row = db.session.execute(select(InboxSearch).where(
        InboxSearch.token == token[:32], InboxSearch.practice_id == practice_id,
        InboxSearch.staff_id == staff_id,
        InboxSearch.created_at >= utcnow() - timedelta(hours=TOKEN_HOURS))).scalar_one_or_none()
    if row is None:
        raise SearchRefused({"q": _("That search has expired: search again.")})
    query = row.query
    e164 = _phone(query)
    if e164 is not None:  # the blind index gives ids: no patient row decrypted
        return Found(query=query, patient_ids=select(Patient.id).where(
            Patient.practice_id == practice_id, lookups.not_merged(), lookups.phone_is(e164)),
            contact_indexes=[blind_index.phone_index(e164)])
    try:
        patients = search_patients(practice_id=practice_id, query=query).patients
    except InvalidSearch as refused:
        raise SearchRefused({"q": refused.errors["q"]}) from refused
    return Found(query=query, patient_ids=[p.id for p in patients],
                 contact_indexes=_contact_indexes(query))


def _phone(query: str) -> str | None:
    """The number, when the whole text is a valid phone number (a date of birth never is:
    it has eight digits)."""
    if not _PHONE_TEXT.match(query) or sum(c.isdigit() for c in query) < 10:
        return None
    try:
        return phones.to_e164(query)
    except phones.InvalidPhoneNumber:
        return None


def _contact_indexes(query: str) -> list[str]:
    if "@" in query:
        return [blind_index.email_index(query)]
    if sum(c.isdigit() for c in query) >= 7:
        try:
            return [blind_index.phone_index(phones.to_e164(query))]
        except phones.InvalidPhoneNumber:
            return []
    return []
