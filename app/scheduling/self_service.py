"""Patient self-scheduling: what a patient may pick online, one-time codes texted to prove the
mobile number, and booking for the person who proved it.

Codes are six digits, stored only as a keyed hash, good for ``CODE_MINUTES`` minutes, once, and
for ``MAX_ATTEMPTS`` tries. Per ``RATE_WINDOW`` a phone gets at most ``MAX_CODES_PER_PHONE``
codes, an address ``MAX_CODES_PER_IP`` (higher: a lobby tablet or a clinic's network is one
address for many patients) and the practice ``MAX_CODES_PER_PRACTICE`` in all (a flood from
many addresses), counted in the database under locks on the phone, the address and the
practice. The per-address count reuses the code table: a row with purpose ``IP_PURPOSE``
whose index is the address's keyed hash, born used. Every guess claims one of a code's
``MAX_ATTEMPTS`` with a conditional UPDATE before it is compared (``verify_code``).

Identity: a patient is the existing one only when first name, last name, date of birth AND
mobile number all match (blind indexes). Anything less is a new patient, who may book only the
types for new patients ("existing patients" types answer ``ExistingPatientsOnly``); a patient
with a visit (any appointment not cancelled) may not book those (``NewPatientsOnly``). This never
tells a stranger that a person with that name and birth date exists, and never attaches a
booking to someone else's record because a phone number was mistyped.

The same proved identity can join the waitlist instead of booking (``join_waitlist``): the
offers it brings are appointment texts, which consent allows unless the number revoked them
(``app/messaging/consent.py``), so joining records no grant; it reports whether texts to the
number are stopped, because then no offer would arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update

from app.core.clock import utcnow
from app.core.db import hold_lock
from app.core.types import keyring
from app.extensions import db
from app.messaging import consent, outbox
from app.messaging.conversations import contact_index
from app.messaging.models import Purpose
from app.patients.lookups import patients_by_name_and_birth_date
from app.patients.models import Patient
from app.patients.services import (
    PatientInputError,
    clean_patient_fields,
    create_patient,
)
from app.scheduling import booking
from app.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    OneTimeCode,
    WaitlistEntry,
)
from app.scheduling.slots import Slot
from app.scheduling.waitlist import entries
from app.scheduling.waitlist.states import WaitlistInputError
from app.security import audit

CODE_PURPOSE, IP_PURPOSE = "booking", "booking_ip"
CODE_MINUTES = 10
MAX_ATTEMPTS = 5
MAX_CODES_PER_PHONE = 3
MAX_CODES_PER_IP = 30
MAX_CODES_PER_PRACTICE = 200
RATE_WINDOW = timedelta(minutes=15)
EXPIRED = "this code has expired; ask for a new one"
TOO_MANY_TRIES = "too many tries; ask for a new code"
WRONG_CODE = "that code is not right"
NOT_A_VISIT = (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR)
# How ``confirm`` ends.
(CONFIRM_BOOKED, CONFIRM_JOINED, CONFIRM_NEW_PATIENTS_ONLY, CONFIRM_EXISTING_ONLY,
 CONFIRM_CODE_REFUSED, CONFIRM_TAKEN, CONFIRM_OUTSIDE_HOURS, CONFIRM_NOT_BOOKABLE,
 CONFIRM_NOT_OFFERED, CONFIRM_BUSY) = (
    "booked", "joined", "new_patients_only", "existing_only", "code_refused", "taken",
    "outside_hours", "not_bookable", "not_offered", "busy")
# Times of day a patient can wait for, as the waitlist's local start-time window.
ANY_TIME, MORNING, AFTERNOON = "any", "morning", "afternoon"
TIME_WINDOWS: dict[str, tuple[time | None, time | None]] = {
    ANY_TIME: (None, None), MORNING: (None, time(11, 59)), AFTERNOON: (time(12), None)}


class SelfServiceError(ValueError):
    """A request the patient must correct; ``field`` names the input, the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class NewPatientsOnly(SelfServiceError):
    """The type is for new patients, and the verified person is already one of ours."""

    def __init__(self) -> None:
        super().__init__("appointment_type_id", "this visit is for new patients")


class ExistingPatientsOnly(SelfServiceError):
    """The type is for existing patients, and the verified person is none of ours."""

    def __init__(self) -> None:
        super().__init__("appointment_type_id", "this visit is for existing patients")


def _check_newness(patient: Patient | None, kind: AppointmentType | None) -> None:
    """A type for new patients is for people without a visit with us (a record made by an
    earlier try, whose time was taken, is still new); the others need a record of ours."""
    if kind is not None and kind.for_new_patients and patient is not None and db.session.execute(
            select(Appointment.id).where(Appointment.patient_id == patient.id,
                                         Appointment.status.not_in(NOT_A_VISIT)).limit(1)
    ).first() is not None:
        raise NewPatientsOnly
    if kind is not None and not kind.for_new_patients and patient is None:
        raise ExistingPatientsOnly


@dataclass(frozen=True)
class Identity:
    given_name: str
    family_name: str
    date_of_birth: date
    mobile_phone: str  # E.164


@dataclass(frozen=True)
class WaitlistWish:
    """What a patient asks to wait for online; no provider means any provider."""

    appointment_type_id: int
    location_id: int
    provider_id: int | None
    weekdays: tuple[int, ...]  # 0 = Monday
    time_of_day: str  # a TIME_WINDOWS key


@dataclass(frozen=True)
class WaitlistJoined:
    entry: WaitlistEntry
    already_waiting: bool  # the patient was waiting for this already; nothing was added
    texts_allowed: bool  # False: the number stopped our appointment texts, so no offer arrives


def clean_identity(raw: dict[str, str], *, today: date | None = None) -> Identity:
    """Check the identity form; raises ``PatientInputError`` naming every bad field."""
    values = clean_patient_fields({**raw, "sex": "unknown", "preferred_language": "en"},
                                  today=today)
    if values.mobile_phone is None:
        raise PatientInputError({"mobile_phone": "missing mobile number"})
    return Identity(values.given_name, values.family_name, values.date_of_birth,
                    values.mobile_phone)


def _keyed(value: str) -> str:
    key = keyring().derived_key("one-time-code")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _phone_key(e164: str) -> str:
    return _keyed(f"phone\x00{e164}")[:40]


def request_code(*, practice_id: int, e164: str, ip_address: str, language: str = "en",
                 now: datetime | None = None) -> None:
    """Text a new code to ``e164`` through the outbox (committed), within the rate limits, in
    the language of the pages the person is using. Counting and adding happen under a lock
    on the phone and on the address, so simultaneous requests cannot all pass the count."""
    now = now or utcnow()
    phone_key, ip_key = _phone_key(e164), _keyed(f"ip\x00{ip_address}")[:40]
    hold_lock(CODE_PURPOSE, phone_key)  # always phone, address, practice: no deadlock
    hold_lock(IP_PURPOSE, ip_key)
    hold_lock(CODE_PURPOSE, f"practice:{practice_id}")
    refusal = None
    if _recent(practice_id, CODE_PURPOSE, phone_key, now) >= MAX_CODES_PER_PHONE:
        refusal = "too many codes for this number"
    elif _recent(practice_id, IP_PURPOSE, ip_key, now) >= MAX_CODES_PER_IP:
        refusal = "too many codes from this connection"
    elif _recent(practice_id, CODE_PURPOSE, None, now) >= MAX_CODES_PER_PRACTICE:
        refusal = "too many codes asked for right now"
    if refusal is not None:
        db.session.rollback()
        raise SelfServiceError("mobile_phone", refusal)
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = now + timedelta(minutes=CODE_MINUTES)
    row = OneTimeCode(practice_id=practice_id, phone_index=phone_key, purpose=CODE_PURPOSE,
                      code_hash=_keyed(f"code\x00{e164}\x00{code}"), expires_at=expires,
                      created_at=now)
    db.session.add_all([row, OneTimeCode(practice_id=practice_id, phone_index=ip_key,
                                         purpose=IP_PURPOSE, code_hash="", expires_at=now,
                                         used_at=now, created_at=now)])
    db.session.flush()
    outbox.enqueue(practice_id=practice_id, purpose=Purpose.SYSTEM,
                   idempotency_key=f"booking-code:{row.id}", channel="sms", address=e164,
                   template="booking_code", context={"code": code, "minutes": CODE_MINUTES},
                   immediate_reply=True, language=language)
    db.session.commit()


def _recent(practice_id: int, purpose: str, key: str | None, now: datetime) -> int:
    """Rows of ``purpose`` in the window: for one phone or address, or (None) all."""
    query = select(func.count(OneTimeCode.id)).where(
        OneTimeCode.practice_id == practice_id, OneTimeCode.purpose == purpose,
        OneTimeCode.created_at > now - RATE_WINDOW)
    if key is not None:
        query = query.where(OneTimeCode.phone_index == key)
    return db.session.execute(query).scalar_one()


def verify_code(*, practice_id: int, e164: str, code: str, now: datetime | None = None) -> None:
    """Accept the newest live code for the phone, once; every guess uses up an attempt.
    Raises ``SelfServiceError`` on ``code`` otherwise (committed either way).

    A guess is evaluated only after it claimed an attempt with one conditional UPDATE
    (``attempts < MAX_ATTEMPTS``), and a right guess spends the code with another
    (``used_at IS NULL``): simultaneous guesses get ``MAX_ATTEMPTS`` evaluations and one
    acceptance between them, on every database."""
    now = now or utcnow()
    row = db.session.execute(
        select(OneTimeCode.id, OneTimeCode.code_hash, OneTimeCode.expires_at).where(
            OneTimeCode.practice_id == practice_id, OneTimeCode.purpose == CODE_PURPOSE,
            OneTimeCode.phone_index == _phone_key(e164), OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc()).limit(1)).one_or_none()
    if row is None or row.expires_at <= now:
        db.session.rollback()
        raise SelfServiceError("code", EXPIRED)
    live = (OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None))
    claimed = db.session.execute(
        update(OneTimeCode).where(*live, OneTimeCode.attempts < MAX_ATTEMPTS)
        .values(attempts=OneTimeCode.attempts + 1).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        spent = db.session.execute(select(OneTimeCode.used_at).where(
            OneTimeCode.id == row.id)).scalar_one() is not None
        db.session.rollback()
        raise SelfServiceError("code", EXPIRED if spent else TOO_MANY_TRIES)
    cleaned = "".join(code.split())
    if not hmac.compare_digest(row.code_hash, _keyed(f"code\x00{e164}\x00{cleaned}")):
        db.session.commit()
        raise SelfServiceError("code", WRONG_CODE)
    accepted = db.session.execute(
        update(OneTimeCode).where(*live).values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    if not accepted:
        raise SelfServiceError("code", EXPIRED)


def book_for(*, practice_id: int, identity: Identity, slot: Slot, language: str = "en",
             now: datetime | None = None) -> Appointment:
    """Book ``slot`` for the verified person: the matching patient, else a new one (see the
    module docstring). Raises ``NewPatientsOnly`` when the person is a patient already and
    the type is for new patients, ``ExistingPatientsOnly`` when the person is none of ours
    and it is not, ``booking.SlotTaken`` / ``booking.BookingInputError``."""
    patient = _matching_patient(practice_id, identity)
    _check_newness(patient, db.session.get(AppointmentType, slot.appointment_type_id))
    if patient is None:
        values = clean_patient_fields({
            "given_name": identity.given_name, "family_name": identity.family_name,
            "date_of_birth": identity.date_of_birth, "mobile_phone": identity.mobile_phone,
            "sex": "unknown", "preferred_language": language})
        patient = create_patient(practice_id=practice_id, values=values,
                                 review_if_resembling=True)
        db.session.commit()
    return booking.book(patient_id=patient.id, slot=slot, source="patient", now=now)


def join_waitlist(*, practice_id: int, identity: Identity, wish: WaitlistWish,
                  language: str = "en") -> WaitlistJoined:
    """Put the verified person on the waitlist (source "patient", default priority): the
    matching patient, else a new one, as for booking. A patient already waiting for the type
    at the location keeps that entry and gets no second one. Raises ``NewPatientsOnly``, and
    ``WaitlistInputError`` naming the field (a type no longer bookable online, a bad
    time of day) or ``ExistingPatientsOnly``, creating nobody. Committed."""
    if wish.time_of_day not in TIME_WINDOWS:
        raise WaitlistInputError({"time_of_day": "must be one of "
                                           + ", ".join(TIME_WINDOWS)})
    patient = _matching_patient(practice_id, identity)
    _check_newness(patient, db.session.get(AppointmentType, wish.appointment_type_id))
    texts_allowed = consent.state(
        practice_id=practice_id, channel="sms", purpose=Purpose.APPOINTMENT,
        contact_index=contact_index("sms", identity.mobile_phone)).allowed
    existing = None if patient is None else entries.waiting_entry(
        practice_id=practice_id, patient_id=patient.id,
        appointment_type_id=wish.appointment_type_id, location_id=wish.location_id)
    if existing is not None:
        audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=existing.patient_id,
                     object_type="waitlist_entry", object_id=existing.id,
                     detail={"view": "waitlist_join_refused", "reason": "already waiting"})
        db.session.commit()
        return WaitlistJoined(existing, already_waiting=True, texts_allowed=texts_allowed)
    if patient is None:
        patient = create_patient(practice_id=practice_id, values=clean_patient_fields({
            "given_name": identity.given_name, "family_name": identity.family_name,
            "date_of_birth": identity.date_of_birth, "mobile_phone": identity.mobile_phone,
            "sex": "unknown", "preferred_language": language}), review_if_resembling=True)
    earliest, latest = TIME_WINDOWS[wish.time_of_day]
    try:
        entry = entries.join(
            practice_id=practice_id, patient_id=patient.id,
            appointment_type_id=wish.appointment_type_id, location_id=wish.location_id,
            provider_ids=[wish.provider_id] if wish.provider_id else [],
            weekdays=wish.weekdays, earliest_time=earliest, latest_time=latest,
            source="patient")
    except WaitlistInputError:
        db.session.rollback()
        raise
    db.session.commit()
    return WaitlistJoined(entry, already_waiting=False, texts_allowed=texts_allowed)


@dataclass(frozen=True)
class Confirmed:
    """How the last step ended (``confirm``): ``outcome`` is one of the ``CONFIRM_*`` names;
    ``phone_proved`` when the code was right (or proved before), so the session may stay
    verified for another choice."""

    outcome: str
    phone_proved: bool = False
    appointment: Appointment | None = None
    joined: WaitlistJoined | None = None
    code_refused: str = ""  # CONFIRM_CODE_REFUSED: the SelfServiceError reason
    next_slots: tuple[Slot, ...] = ()  # CONFIRM_TAKEN: the times to offer instead


def confirm(*, practice_id: int, identity: Identity, code: str | None, slot: Slot | None,
            wish: WaitlistWish | None, language: str) -> Confirmed:
    """The last step: check ``code`` (None: the phone was proved already), then book ``slot``
    or join the waitlist for ``wish``. A refusal is an outcome, never an exception."""
    try:
        if code is not None:
            verify_code(practice_id=practice_id, e164=identity.mobile_phone, code=code)
        if wish is not None:
            return Confirmed(CONFIRM_JOINED, phone_proved=True, joined=join_waitlist(
                practice_id=practice_id, identity=identity, wish=wish, language=language))
        assert slot is not None  # a choice is a slot or a wish
        appointment = book_for(practice_id=practice_id, identity=identity, slot=slot,
                               language=language)
    except NewPatientsOnly:
        return Confirmed(CONFIRM_NEW_PATIENTS_ONLY, phone_proved=True)
    except ExistingPatientsOnly:
        return Confirmed(CONFIRM_EXISTING_ONLY, phone_proved=True)
    except SelfServiceError as refused:
        return Confirmed(CONFIRM_CODE_REFUSED, code_refused=refused.reason)
    except booking.SlotTaken as taken:
        return Confirmed(CONFIRM_OUTSIDE_HOURS if isinstance(taken, booking.OutsideHours)
                         else CONFIRM_TAKEN, phone_proved=True, next_slots=tuple(taken.next_slots))
    except booking.BookingInputError:
        return Confirmed(CONFIRM_NOT_BOOKABLE)
    except WaitlistInputError:
        return Confirmed(CONFIRM_NOT_OFFERED, phone_proved=True)
    except booking.BookingError:  # the schedule stayed locked through every retry
        return Confirmed(CONFIRM_BUSY, phone_proved=True)
    return Confirmed(CONFIRM_BOOKED, phone_proved=True, appointment=appointment)


def _matching_patient(practice_id: int, identity: Identity) -> Patient | None:
    same = patients_by_name_and_birth_date(
        practice_id=practice_id, given_name=identity.given_name,
        family_name=identity.family_name, date_of_birth=identity.date_of_birth)
    match = next((p for p in same if p.mobile_phone == identity.mobile_phone), None)
    db.session.commit()  # booking.book wants an idle session
    return match
