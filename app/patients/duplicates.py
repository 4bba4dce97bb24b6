"""Records that are probably one person: listed for staff to merge or dismiss.

Two records resemble each other when they share a date of birth and either a phone number
(mobile or home) or a similar name: the same family name and given names where one starts or
contains the other ("Liv" / "Olivia", "Ann" / "Ann Marie"). Online booking that matches nobody
exactly but resembles a patient still books, and flags the new record "needs review" with its
likely match (``flag_if_resembling``). A pair staff dismiss is remembered and not listed again.

Candidates are found by the date-of-birth blind index (equal dates only), then compared on
the decrypted values of those few rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core.errors import FieldErrors
from app.extensions import db
from app.patients.lookups import not_merged
from app.patients.models import Patient, PatientPairDismissal
from app.security import audit, blind_index

PAIR_LIMIT = 100
_GROUP_LIMIT = 500


class DuplicateError(FieldErrors):
    """The pair named cannot be dismissed (not two of this practice's own records)."""


@dataclass(frozen=True)
class DuplicatePair:
    first: Patient
    second: Patient
    same_phone: bool
    similar_name: bool


def similar_names(a: Patient, b: Patient) -> bool:
    if blind_index.normalize_name(a.family_name) != blind_index.normalize_name(b.family_name):
        return False
    given_a = blind_index.normalize_name(a.given_name)
    given_b = blind_index.normalize_name(b.given_name)
    short, long = sorted((given_a, given_b), key=len)
    return bool(short) and (short in long or long.startswith(short[:3]))


def same_phone(a: Patient, b: Patient) -> bool:
    mine = {a.mobile_phone, a.home_phone} - {None}
    return bool(mine & ({b.mobile_phone, b.home_phone} - {None}))


def resemble(a: Patient, b: Patient) -> DuplicatePair | None:
    if a.id == b.id or a.date_of_birth != b.date_of_birth:
        return None
    phone, name = same_phone(a, b), similar_names(a, b)
    if not (phone or name):
        return None
    first, second = sorted((a, b), key=lambda p: p.id)
    return DuplicatePair(first, second, phone, name)


def likely_pairs(*, practice_id: int) -> list[DuplicatePair]:
    """Pairs of this practice's records that resemble each other, not dismissed, oldest
    first. Audited (the ids shown) and committed."""
    shared = (select(Patient.dob_index).where(Patient.practice_id == practice_id, not_merged())
              .group_by(Patient.dob_index).having(func.count(Patient.id) > 1))
    rows = list(db.session.execute(
        select(Patient).where(Patient.practice_id == practice_id, not_merged(),
                              Patient.dob_index.in_(shared))
        .order_by(Patient.id).limit(_GROUP_LIMIT)).scalars())
    dismissed = _dismissed(practice_id)
    by_day: dict[str, list[Patient]] = {}
    for patient in rows:
        by_day.setdefault(patient.dob_index, []).append(patient)
    pairs = [pair for group in by_day.values() for a, b in combinations(group, 2)
             if (pair := resemble(a, b)) is not None
             and (pair.first.id, pair.second.id) not in dismissed]
    pairs.sort(key=lambda pair: (pair.first.id, pair.second.id))
    pairs = pairs[:PAIR_LIMIT]
    audit.record(audit.Action.PATIENT_SEARCH, detail={
        "kind": "duplicates", "results": len(pairs),
        "patient_ids": sorted({p.id for pair in pairs for p in (pair.first, pair.second)})})
    db.session.commit()
    return pairs


def needs_review(*, practice_id: int) -> list[tuple[Patient, Patient]]:
    """(new record, its likely match) for records online booking flagged; audited."""
    flagged = list(db.session.execute(
        select(Patient).where(Patient.practice_id == practice_id, not_merged(),
                              Patient.review_match_id.is_not(None))
        .order_by(Patient.id)).scalars())
    found = [(p, db.session.get_one(Patient, p.review_match_id)) for p in flagged]
    audit.record(audit.Action.PATIENT_SEARCH, detail={
        "kind": "needs_review", "results": len(found),
        "patient_ids": sorted({p.id for pair in found for p in pair})})
    db.session.commit()
    return found


def flag_if_resembling(patient: Patient) -> Patient | None:
    """Flag a just-created record that resembles an existing patient "needs review" with that
    patient as its likely match (in the caller's transaction, audited); return the match."""
    same_day = db.session.execute(
        select(Patient).where(Patient.practice_id == patient.practice_id, not_merged(),
                              Patient.dob_index == patient.dob_index, Patient.id != patient.id)
        .order_by(Patient.id)).scalars()
    pairs = [pair for other in same_day if (pair := resemble(patient, other)) is not None]
    if not pairs:
        return None
    best = max(pairs, key=lambda pair: (pair.same_phone + pair.similar_name, -pair.first.id))
    match = best.first if best.second.id == patient.id else best.second
    patient.review_match_id = match.id
    db.session.flush()
    audit.record(audit.Action.PATIENT_REVIEW, patient_id=patient.id, object_type="patient",
                 object_id=patient.id, detail={"flagged": True, "patient_ids": [match.id],
                                               "same_phone": best.same_phone,
                                               "similar_name": best.similar_name})
    return match


def dismiss(*, practice_id: int, first_id: int, second_id: int, staff_id: int | None) -> None:
    """Staff say the two records are different people: the pair is not listed again and a
    review flag between them is cleared. Audited, committed. Raises DuplicateError."""
    low, high = sorted((first_id, second_id))
    pair = [db.session.get(Patient, low), db.session.get(Patient, high)]
    if low == high or any(p is None or p.practice_id != practice_id for p in pair):
        raise DuplicateError({"second_id": _("These are not two records of this practice.")})
    if (low, high) not in _dismissed(practice_id):
        db.session.add(PatientPairDismissal(practice_id=practice_id, first_id=low,
                                            second_id=high, staff_id=staff_id))
    for patient, other in (pair, pair[::-1]):
        if patient.review_match_id == other.id:
            patient.review_match_id = None
    db.session.flush()
    audit.record(audit.Action.PATIENT_REVIEW, patient_id=low, object_type="patient",
                 object_id=low, detail={"dismissed": True, "patient_ids": [low, high]})
    db.session.commit()


def _dismissed(practice_id: int) -> set[tuple[int, int]]:
    return {(first, second) for first, second in db.session.execute(
        select(PatientPairDismissal.first_id, PatientPairDismissal.second_id)
        .where(PatientPairDismissal.practice_id == practice_id))}
