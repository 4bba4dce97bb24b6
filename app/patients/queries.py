"""Read side of the staff patient search: find patients (one patient's record page, which
shows their appointments and messages too, is ``app.record``).

Lookups go through the blind indexes only (``lookups``); the few rows an index returns are
decrypted to show them (and, for a "given family" name, to check the given name). Every call
that reads patient data appends an audit event; its detail holds the kind of search and
counts, never the search text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select

from app.core import phones
from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.patients import lookups
from app.patients.models import Patient
from app.security import audit, blind_index

RECENT_LIMIT = 25
RESULT_LIMIT = 50
MAX_QUERY_LENGTH = 100
_CANDIDATE_LIMIT = 500

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_US_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_PHONE = re.compile(r"^[\d\s()+.\-]+$")


class SearchKind(StrEnum):
    RECENT = "recent"
    NAME = "name"
    DATE_OF_BIRTH = "dob"
    PHONE = "phone"
    NAME_AND_DATE_OF_BIRTH = "name_dob"


class InvalidSearch(FieldErrors):
    """The search text (field ``q``) cannot be read as a name, a date of birth or a phone
    number; ``errors["q"]`` says why, in the reader's language."""

    def __init__(self, reason: str) -> None:
        super().__init__({"q": reason})


class PatientNotFound(LookupError):
    """No patient with that id in this practice."""


@dataclass(frozen=True)
class PatientRow:
    """One line of a search result, detached from the session."""

    id: int
    given_name: str
    family_name: str
    date_of_birth: date
    mobile_phone: str | None
    preferred_language: str

    @classmethod
    def of(cls, patient: Patient) -> PatientRow:
        return cls(id=patient.id, given_name=patient.given_name,
                   family_name=patient.family_name, date_of_birth=patient.date_of_birth,
                   mobile_phone=patient.mobile_phone,
                   preferred_language=patient.preferred_language)


@dataclass(frozen=True)
class SearchResult:
    kind: SearchKind
    patients: list[PatientRow]
    truncated: bool


def search_patients(*, practice_id: int, query: str) -> SearchResult:
    """Patients matching ``query`` (names or the starts of names, at least three letters of
    each word, in any order: "Gar", "Maria", "Maria Garcia", "Garcia, Maria"; a date of
    birth as YYYY-MM-DD or MM/DD/YYYY; a phone number in any format; a name and a date of
    birth together), or the recently updated patients when it is blank. Records merged into
    another are never listed."""
    text = " ".join(query.split())
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidSearch(_("Use at most %(max)d characters.", max=MAX_QUERY_LENGTH))
    kind, condition = _condition(text)
    stmt = select(Patient).where(Patient.practice_id == practice_id, lookups.not_merged())
    if kind is SearchKind.RECENT:
        patients = [PatientRow.of(p) for p in db.session.execute(
            stmt.order_by(Patient.updated_at.desc(), Patient.id.desc()).limit(RECENT_LIMIT)
        ).scalars()]
        truncated = False
    else:
        # A common name start can match many rows; the names are checked again after
        # decrypting, so read a bounded number of candidates and say when the list is cut short.
        rows = list(db.session.execute(stmt.where(condition).limit(_CANDIDATE_LIMIT)).scalars())
        matching = [p for p in rows if _name_fits(p, text, kind)]
        matching.sort(key=lambda p: (blind_index.normalize_name(p.family_name),
                                     blind_index.normalize_name(p.given_name), p.id))
        patients = [PatientRow.of(p) for p in matching[:RESULT_LIMIT]]
        truncated = len(matching) > RESULT_LIMIT or len(rows) == _CANDIDATE_LIMIT
    audit.record(audit.Action.PATIENT_SEARCH, detail={
        "kind": kind.value, "results": len(patients), "patient_ids": [p.id for p in patients]})
    db.session.commit()
    return SearchResult(kind=kind, patients=patients, truncated=truncated)


def _condition(text: str) -> tuple[SearchKind, ColumnElement[bool] | None]:
    """What kind of search ``text`` is, and the blind-index condition that answers it."""
    if not text:
        return SearchKind.RECENT, None
    born, name = _split_date(text)
    if born is not None and not name:
        return SearchKind.DATE_OF_BIRTH, lookups.born_on(born)
    if born is None and _PHONE.match(text) and sum(c.isdigit() for c in text) >= 7:
        try:
            e164 = phones.to_e164(text)
        except phones.InvalidPhoneNumber:
            raise InvalidSearch(_("%(text)s is not a valid phone number.", text=text)) from None
        return SearchKind.PHONE, lookups.phone_is(e164)
    words = blind_index.name_words(name)
    if not any(c.isalpha() for c in name) or not words:
        raise InvalidSearch(_("Search by name, date of birth (YYYY-MM-DD or MM/DD/YYYY) "
                               "or phone number."))
    if born is None:
        return SearchKind.NAME, lookups.name_words_start(words)
    return SearchKind.NAME_AND_DATE_OF_BIRTH, (lookups.name_words_start(words)
                                               & lookups.born_on(born))


def _split_date(text: str) -> tuple[date | None, str]:
    """The date of birth in ``text`` (if any) and the rest of the text."""
    for pattern, order in ((_ISO_DATE, (0, 1, 2)), (_US_DATE, (2, 0, 1))):
        found = pattern.search(text)
        if found:
            year, month, day = (int(found.group(i + 1)) for i in order)
            try:
                born = date(year, month, day)
            except ValueError:
                raise InvalidSearch(_("%(text)s is not a real date.",
                                      text=found.group(0))) from None
            if born > utcnow().date():
                raise InvalidSearch(_("%(text)s is a date in the future.", text=found.group(0)))
            rest = (text[:found.start()] + " " + text[found.end():]).strip(" ,")
            return born, " ".join(rest.split())
    return None, text


def _name_fits(patient: Patient, text: str, kind: SearchKind) -> bool:
    """An index match is checked against the decrypted names: every typed word starts a name
    word (a word shorter than the prefix minimum must be a whole name word)."""
    if kind not in (SearchKind.NAME, SearchKind.NAME_AND_DATE_OF_BIRTH):
        return True
    have = blind_index.name_words(patient.given_name, patient.family_name)
    typed = blind_index.name_words(_split_date(text)[1])
    return all(any(word.startswith(t) and (len(t) >= blind_index.NAME_PREFIX_MIN or word == t)
                   for word in have) for t in typed)


def patient_for_edit(*, practice_id: int, patient_id: int) -> Patient:
    """The patient whose details staff are about to edit; the read is audited and committed.
    Raises PatientNotFound (also for a record merged into another)."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id or patient.merged_into_id:
        raise PatientNotFound(patient_id)
    audit.record(audit.Action.PATIENT_VIEW, patient_id=patient_id, object_type="patient",
                 object_id=patient_id, detail={"view": "edit"})
    db.session.commit()
    return patient


def chosen_patient(*, practice_id: int, patient_id: int) -> SearchResult | None:
    """One patient chosen by id (booking from their record), as a one-row result; None when
    the id names no patient of this practice (or a merged record). Audited, committed."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id or patient.merged_into_id:
        return None
    audit.record(audit.Action.PATIENT_VIEW, patient_id=patient_id, object_type="patient",
                 object_id=patient_id, detail={"view": "booking"})
    db.session.commit()
    return SearchResult(kind=SearchKind.NAME, patients=[PatientRow.of(patient)],
                        truncated=False)
