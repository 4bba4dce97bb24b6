"""Merging a duplicate record into the one that survives.

Staff pick the surviving record and, per group of fields, whose value to keep. Everything
that names the duplicate moves to the survivor in one transaction: every column of any table
with a foreign key to ``patient.id`` (appointments, messages, conversation links, consent
entries, waitlist entries, questionnaire responses, and whatever table is added later), found
from the schema itself so that no new table is forgotten. Audit rows are immutable and
hash-chained, so they are never rewritten: the merge appends one ``patient.merge`` event
naming both ids, and the audit screen's patient filter includes the records merged into a
patient (``merged_ids``). The duplicate's row is kept, marked merged (its lookups cleared,
so texts, sign-ins and searches find the survivor only), and its record page redirects.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Table, delete, exists, select, update

from app.core.clock import utcnow
from app.core.db import hold_lock
from app.core.errors import FieldErrors
from app.extensions import db
from app.patients import services
from app.patients.models import Patient
from app.patients.queries import PatientNotFound
from app.security import audit

# What staff choose between, each group taken whole from one record.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("given_name", "family_name"),
    "date_of_birth": ("date_of_birth",),
    "sex": ("sex",),
    "mobile_phone": ("mobile_phone",),
    "home_phone": ("home_phone",),
    "email": ("email",),
    "preferred_language": ("preferred_language",),
    "preferred_channel": ("preferred_channel",),
    "address": ("address_line", "city", "state", "postal_code"),
    "external_id": ("external_id",),
}
# Tables that name a patient but must not move: the patient rows themselves (handled below),
# the name index (rebuilt) and the dismissed pairs (history of a judgement).
_NOT_MOVED = {"patient", "patient_name_token", "patient_pair_dismissal"}


class MergeError(FieldErrors):
    """The merge asked for cannot be done; ``errors`` names the field."""


@dataclass(frozen=True)
class MergeResult:
    survivor: Patient
    moved: dict[str, int]  # table → rows moved


def merge_candidates(*, practice_id: int, first_id: int, second_id: int
                     ) -> tuple[Patient, Patient]:
    """The two records to compare before a merge (audited, committed). Raises
    PatientNotFound for a record not this practice's own or already merged."""
    pair = (_own(practice_id, first_id), _own(practice_id, second_id))
    audit.record(audit.Action.PATIENT_VIEW, patient_id=first_id, object_type="patient",
                 object_id=first_id, detail={"view": "merge", "patient_ids": [second_id]})
    db.session.commit()
    return pair


def default_choices(survivor: Patient, other: Patient) -> dict[str, str]:
    """Per group, "survivor" unless only the other record has a value."""
    def empty(patient: Patient, group: str) -> bool:
        return not any(getattr(patient, name) for name in FIELD_GROUPS[group])
    return {group: "merged" if empty(survivor, group) and not empty(other, group)
            else "survivor" for group in FIELD_GROUPS}


def merge_patients(*, practice_id: int, survivor_id: int, merged_id: int,
                   take_from_merged: set[str], staff_id: int | None) -> MergeResult:
    """Merge ``merged_id`` into ``survivor_id``, keeping the groups in ``take_from_merged``
    from the merged record. Audited, committed. Raises MergeError, PatientInputError."""
    if survivor_id == merged_id:
        raise MergeError({"merged_id": _("Choose two different records.")})
    unknown = take_from_merged - FIELD_GROUPS.keys()
    if unknown:
        raise MergeError({"take": _("Unknown fields: %(names)s", names=", ".join(unknown))})
    hold_lock("patient-merge", str(practice_id))  # two merges of one pair cannot cross
    db.session.expire_all()  # read both records as the lock holder sees them
    try:
        survivor, merged = _own(practice_id, survivor_id), _own(practice_id, merged_id)
    except PatientNotFound:
        raise MergeError({"merged_id": _("Both records must be this practice's own and "
                                         "not merged already.")}) from None
    raw = {name: getattr(merged if group in take_from_merged else survivor, name)
           for group, names in FIELD_GROUPS.items() for name in names}
    values = services.clean_patient_fields(raw)  # before anything is written
    _retire(merged, survivor_id)
    changes = services.update_patient(patient=survivor, values=values, audited=False)
    moved = _move_references(practice_id, merged_id, survivor_id)
    audit.record(audit.Action.PATIENT_MERGE, patient_id=survivor_id, object_type="patient",
                 object_id=survivor_id, detail={
                     "merged_patient_id": merged_id, "patient_ids": [merged_id],
                     "fields_from_merged": sorted(take_from_merged), "changed": changes,
                     "moved": moved, "staff_id": staff_id})
    db.session.commit()
    return MergeResult(survivor=db.session.get_one(Patient, survivor_id), moved=moved)


def merged_ids(*, patient_id: int) -> list[int]:
    """The records merged into this one (merges are flattened: each points at the last
    survivor)."""
    return list(db.session.execute(
        select(Patient.id).where(Patient.merged_into_id == patient_id).order_by(Patient.id)
    ).scalars())


def _own(practice_id: int, patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id or patient.merged_into_id:
        raise PatientNotFound(patient_id)
    return patient


def _retire(merged: Patient, survivor_id: int) -> None:
    """Mark the duplicate merged and clear what finds it (so the survivor may take its
    number, email or record number)."""
    merged.merged_into_id, merged.merged_at = survivor_id, utcnow()
    merged.review_match_id = None
    merged.mobile_phone_index = merged.home_phone_index = None
    merged.email_index = merged.external_id_index = None
    merged.name_tokens = []
    db.session.flush()
    services.link_household(merged)


def _move_references(practice_id: int, from_id: int, to_id: int) -> dict[str, int]:
    moved: dict[str, int] = {}
    patient_id = Patient.__table__.c.id
    for table in db.metadata.sorted_tables:
        if table.name in _NOT_MOVED:
            continue
        for column in table.columns:
            if any(fk.column is patient_id for fk in column.foreign_keys):
                count = _move(table, column.name, practice_id, from_id, to_id)
                if count:
                    moved[table.name] = moved.get(table.name, 0) + count
    for column in (Patient.merged_into_id, Patient.review_match_id):
        db.session.execute(update(Patient).where(column == from_id).values({column: to_id})
                           .execution_options(synchronize_session=False))
    db.session.execute(update(Patient).where(Patient.id == to_id,
                                             Patient.review_match_id == to_id)
                       .values(review_match_id=None).execution_options(
                           synchronize_session=False))
    db.session.expire_all()
    return moved


def _move(table: Table, name: str, practice_id: int, from_id: int, to_id: int) -> int:
    column = table.c[name]
    scope = [table.c.practice_id == practice_id] if "practice_id" in table.c else []
    if column.primary_key:  # a link table: drop the links the survivor has already
        peer = table.alias()
        others = [c for c in table.primary_key.columns if c is not column]
        db.session.execute(delete(table).where(column == from_id, exists().where(
            peer.c[name] == to_id, *[peer.c[c.name] == c for c in others])))
    result = db.session.execute(update(table).where(column == from_id, *scope)
                                .values({name: to_id}))
    return result.rowcount or 0
