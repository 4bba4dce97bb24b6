"""Write side of patient records: clean input, create, update, households.

Every identifying field is normalized the same way everywhere (phones to E.164, emails
lowercased, names trimmed) before its blind index is computed, so a lookup finds what a write
stored. Writes append an audit event naming the changed fields, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from app.core import phones
from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.patients import duplicates
from app.patients.models import Channel, Household, Language, Patient, Sex
from app.patients.queries import PatientNotFound
from app.security import audit

_SEX_WORDS = {
    "f": Sex.FEMALE, "female": Sex.FEMALE, "woman": Sex.FEMALE,
    "m": Sex.MALE, "male": Sex.MALE, "man": Sex.MALE,
    "o": Sex.OTHER, "other": Sex.OTHER, "x": Sex.OTHER,
    "u": Sex.UNKNOWN, "unknown": Sex.UNKNOWN, "": Sex.UNKNOWN,
}
_LANGUAGE_WORDS = {"": Language.ENGLISH, "en": Language.ENGLISH, "english": Language.ENGLISH,
                   "es": Language.SPANISH, "spanish": Language.SPANISH,
                   "español": Language.SPANISH, "espanol": Language.SPANISH}


class PatientInputError(FieldErrors):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""


@dataclass(frozen=True)
class PatientFields:
    """Clean, normalized values for a patient record."""

    given_name: str
    family_name: str
    date_of_birth: date
    sex: str = Sex.UNKNOWN
    external_id: str | None = None
    mobile_phone: str | None = None
    home_phone: str | None = None
    email: str | None = None
    preferred_language: str = Language.ENGLISH
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    preferred_channel: str | None = None  # None: texts when there is a mobile, else email


def clean_patient_fields(raw: Mapping[str, object], *, default_region: str = "US",
                         today: date | None = None) -> PatientFields:
    """Validate and normalize raw values (strings from a form or a CSV row).

    Raises PatientInputError listing every bad field, so one pass reports them all."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else " ".join(str(value).split())

    given, family = text("given_name"), text("family_name")
    if not given:
        errors["given_name"] = _("missing first name")
    if not family:
        errors["family_name"] = _("missing last name")
    dob: date | None = None
    raw_dob = text("date_of_birth")
    if isinstance(raw.get("date_of_birth"), date):
        dob = raw["date_of_birth"]  # type: ignore[assignment]
    elif not raw_dob:
        errors["date_of_birth"] = _("missing date of birth")
    else:
        try:
            dob = date.fromisoformat(raw_dob)
        except ValueError:
            errors["date_of_birth"] = _("bad date '%(value)s' (expected YYYY-MM-DD)",
                                        value=raw_dob)
    if dob is not None and not date(1900, 1, 1) <= dob <= (today or utcnow().date()):
        errors["date_of_birth"] = _("date of birth %(date)s is not plausible",
                                    date=dob.isoformat())

    sex = _SEX_WORDS.get(text("sex").lower())
    if sex is None:
        errors["sex"] = _("unknown sex '%(value)s' (female, male, other or unknown)",
                          value=text("sex"))
    language = _LANGUAGE_WORDS.get(text("preferred_language").lower())
    if language is None:
        errors["preferred_language"] = _("unknown language '%(value)s' (en or es)",
                                         value=text("preferred_language"))

    def phone(name: str, label: str) -> str | None:
        value = text(name)
        if not value:
            return None
        try:
            return phones.to_e164(value, default_region)
        except phones.InvalidPhoneNumber:
            errors[name] = _("unparseable %(field)s '%(value)s'", field=label, value=value)
            return None

    mobile = phone("mobile_phone", _("mobile phone"))
    home = phone("home_phone", _("home phone"))
    email: str | None = text("email") or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = _("invalid email '%(value)s'", value=email)
            email = None
    state = text("state").upper() or None
    if state and (len(state) != 2 or not state.isalpha()):
        errors["state"] = _("state '%(value)s' is not a two-letter code", value=state)
    channel = text("preferred_channel").lower() or None
    if channel not in (None, Channel.SMS, Channel.EMAIL):
        errors["preferred_channel"] = _("unknown channel '%(value)s' (sms or email)",
                                        value=channel)
    if errors:
        raise PatientInputError(errors)
    assert dob is not None and sex is not None and language is not None
    return PatientFields(
        given_name=given, family_name=family, date_of_birth=dob, sex=sex,
        external_id=text("external_id") or None, mobile_phone=mobile, home_phone=home,
        email=email, preferred_language=language, address_line=text("address_line") or None,
        city=text("city") or None, state=state, postal_code=text("postal_code") or None,
        preferred_channel=channel,
    )


def changed_fields(patient: Patient, values: PatientFields) -> list[str]:
    return [f.name for f in fields(values) if getattr(patient, f.name) != getattr(values, f.name)
            and not (f.name == "preferred_channel" and values.preferred_channel is None)]


def create_patient(*, practice_id: int, values: PatientFields, audited: bool = True,
                   review_if_resembling: bool = False) -> Patient:
    """Add a patient (flushed, not committed: the caller's transaction decides). With
    ``review_if_resembling`` (a person who booked online and matched nobody exactly), a
    record resembling an existing patient is flagged "needs review" (``duplicates``)."""
    patient = Patient(practice_id=practice_id, **asdict(values))
    patient.preferred_channel = values.preferred_channel or (
        Channel.SMS if values.mobile_phone or not values.email else Channel.EMAIL)
    patient.refresh_indexes()
    db.session.add(patient)
    db.session.flush()
    link_household(patient)
    if audited:
        audit.record(audit.Action.PATIENT_CREATE, patient_id=patient.id, object_type="patient",
                     object_id=patient.id)
    if review_if_resembling:
        duplicates.flag_if_resembling(patient)
    return patient


def update_patient(*, patient: Patient, values: PatientFields, audited: bool = True
                   ) -> list[str]:
    """Apply new values; return the names of the fields that changed."""
    changes = changed_fields(patient, values)
    if not changes:
        return []
    for name in changes:
        setattr(patient, name, getattr(values, name))
    if "mobile_phone" in changes and not patient.mobile_phone and patient.email:
        patient.preferred_channel = Channel.EMAIL
    patient.refresh_indexes()
    db.session.flush()
    if "mobile_phone" in changes:
        link_household(patient)
    if audited:
        audit.record(audit.Action.PATIENT_UPDATE, patient_id=patient.id, object_type="patient",
                     object_id=patient.id, detail={"fields": changes})
    return changes


def reindex_patients(*, batch_size: int = 200) -> int:
    """Recompute the blind indexes of every patient of every practice (after adding an index
    or rotating the index key); records merged into another keep theirs cleared. Committed
    batch by batch; returns how many were reindexed."""
    done, last_id = 0, 0
    while True:
        batch = list(db.session.execute(
            select(Patient).where(Patient.id > last_id, Patient.merged_into_id.is_(None))
            .order_by(Patient.id).limit(batch_size)).scalars())
        if not batch:
            return done
        for patient in batch:
            patient.refresh_indexes()
        db.session.commit()
        done, last_id = done + len(batch), batch[-1].id


def link_household(patient: Patient) -> None:
    """Put the patient in the household of everyone sharing their mobile number, and dissolve
    a household left with a single member."""
    previous = patient.household
    sharing = [] if not patient.mobile_phone_index else db.session.execute(
        select(Patient).where(Patient.practice_id == patient.practice_id,
                              Patient.mobile_phone_index == patient.mobile_phone_index,
                              Patient.id != patient.id)).scalars().all()
    household = None
    if sharing:
        household = db.session.execute(
            select(Household).where(Household.practice_id == patient.practice_id,
                                    Household.phone_index == patient.mobile_phone_index)
        ).scalar_one_or_none()
        if household is None:
            household = Household(practice_id=patient.practice_id, phone=patient.mobile_phone,
                                  phone_index=patient.mobile_phone_index)
            db.session.add(household)
            db.session.flush()
        for member in [patient, *sharing]:
            member.household_id = household.id
    else:
        patient.household_id = None
    db.session.flush()
    if previous is not None and previous is not household:
        remaining = db.session.execute(
            select(Patient).where(Patient.household_id == previous.id)).scalars().all()
        if len(remaining) <= 1:
            for member in remaining:
                member.household_id = None
            db.session.flush()
            db.session.delete(previous)
            db.session.flush()
    db.session.expire(patient, ["household"])



def add_patient(*, practice_id: int, raw: Mapping[str, object]) -> Patient:
    """A patient staff add on the screen: checked, created, audited, committed. Raises
    PatientInputError naming every bad field."""
    patient = create_patient(practice_id=practice_id, values=clean_patient_fields(raw))
    db.session.commit()
    return patient


def edit_patient(*, practice_id: int, patient_id: int, raw: Mapping[str, object]
                 ) -> list[str]:
    """Staff change a patient's demographics and contact points: checked, saved, audited
    (the names of the changed fields), committed; returns those names. Raises
    PatientInputError, and PatientNotFound for a record not this practice's own (or merged
    into another)."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id or patient.merged_into_id:
        raise PatientNotFound(patient_id)
    changes = update_patient(patient=patient, values=clean_patient_fields(raw))
    db.session.commit()
    return changes
