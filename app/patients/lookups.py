"""Finding patients by an identifying value, written once for every caller.

Names, birth dates, phones, emails and record numbers are encrypted, so a patient is found by
the blind index of the value (``app.security.blind_index`` normalizes it the same way the
write did) — never by the column itself. The conditions here are composed by the staff
search (``queries``), the FHIR Patient search and the lookups below; the lookups are what the
importer, inbound texts and self-scheduling use to match a person to their record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select

from app.extensions import db
from app.patients.models import Patient, PatientNameToken
from app.security import blind_index


def phone_is(e164: str) -> ColumnElement[bool]:
    """The mobile or the home number is ``e164``."""
    digest = blind_index.phone_index(e164)
    return or_(Patient.mobile_phone_index == digest, Patient.home_phone_index == digest)


def mobile_phone_is(e164: str) -> ColumnElement[bool]:
    return Patient.mobile_phone_index == blind_index.phone_index(e164)


def email_is(email: str) -> ColumnElement[bool]:
    return Patient.email_index == blind_index.email_index(email)


def external_id_is(external_id: str) -> ColumnElement[bool]:
    return Patient.external_id_index == blind_index.external_id_index(external_id)


def family_name_in(families: Iterable[str]) -> ColumnElement[bool]:
    """The family name is one of ``families`` (case and accents ignored)."""
    return Patient.family_name_index.in_({blind_index.family_name_index(f) for f in families})


def name_words_start(words: Iterable[str]) -> ColumnElement[bool]:
    """Every one of ``words`` starts a word of the given or family name (each word at least
    ``blind_index.NAME_PREFIX_MIN`` letters, or a whole shorter name word)."""
    return and_(*(Patient.id.in_(
        select(PatientNameToken.patient_id)
        .where(PatientNameToken.token_index == blind_index.name_prefix_index(word)))
        for word in words))


def not_merged() -> ColumnElement[bool]:
    """The record is a patient's own, not a duplicate merged into another."""
    return Patient.merged_into_id.is_(None)


def born_on(day: date) -> ColumnElement[bool]:
    return Patient.dob_index == blind_index.dob_index(day)


def name_and_birth_date_in(names: Iterable[tuple[str, str]], day: date) -> ColumnElement[bool]:
    """One of the (given, family) ``names``, exactly (any case or accents), born on ``day``."""
    return Patient.name_dob_index.in_(
        {blind_index.name_dob_index(given, family, day) for given, family in names})


def patients_by_phone(*, practice_id: int, e164: str) -> list[Patient]:
    """Patients whose mobile number is ``e164`` (a household has several)."""
    return _all(practice_id, mobile_phone_is(e164))


def patients_by_email(*, practice_id: int, email: str) -> list[Patient]:
    return _all(practice_id, email_is(email))


def patient_by_external_id(*, practice_id: int, external_id: str) -> Patient | None:
    return db.session.execute(
        select(Patient).where(Patient.practice_id == practice_id, external_id_is(external_id),
                              not_merged())
    ).scalar_one_or_none()


def patients_by_name_and_birth_date(*, practice_id: int, given_name: str, family_name: str,
                                    date_of_birth: date) -> list[Patient]:
    """The identity match used by self-scheduling: exact name (any case or accents) + DOB."""
    return _all(practice_id, name_and_birth_date_in([(given_name, family_name)], date_of_birth))


def _all(practice_id: int, condition: ColumnElement[bool]) -> list[Patient]:
    return list(db.session.execute(
        select(Patient).where(Patient.practice_id == practice_id, condition, not_merged())
        .order_by(Patient.id)).scalars())
