"""Small builders for test data; each commits, so the app under test sees it."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Message
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling.models import Appointment, AppointmentType
from app.security.models import StaffUser

STAFF_PASSWORD = "correct horse battery staple"  # noqa: S105
DEPLOYMENT_NUMBER = "+13125550100"  # the tests' TWILIO_FROM_NUMBER (conftest)
_seq = itertools.count(1)


@cache
def _staff_password_hash() -> str:
    """An argon2id hash with the cheapest parameters: verifying reads them from the hash, so
    the hundreds of sign-ins in a run cost milliseconds instead of minutes. Accounts the app
    itself creates keep the production parameters."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(STAFF_PASSWORD)


def make_practice(name: str = "Lakeside Family Dental", timezone: str = "America/Chicago",
                  **fields: object) -> Practice:
    """A practice; ``fields`` sets more columns (a second practice's own SMS number, say)."""
    practice = Practice(name=name, phone="+13125550100", email="hello@lakeside.example",
                        timezone=timezone, **fields)
    db.session.add(practice)
    db.session.commit()
    return practice


def make_location(practice: Practice, *, name: str | None = None,
                  timezone: str = "America/Chicago", state: str = "IL") -> Location:
    n = next(_seq)
    location = Location(practice_id=practice.id, name=name or f"Location {n}",
                        address_line=f"{n} Main St", city="Springfield", state=state,
                        postal_code="62701", phone="+13125550101", timezone=timezone)
    db.session.add(location)
    db.session.commit()
    return location


def make_provider(practice: Practice, *, locations: list[Location] | None = None,
                  family_name: str | None = None) -> Provider:
    provider = Provider(practice_id=practice.id, given_name="Ana",
                        family_name=family_name or f"Rivera{next(_seq)}", prefix="Dr.",
                        credentials="DDS", locations=locations or [])
    db.session.add(provider)
    db.session.commit()
    return provider


def make_patient(practice: Practice, **fields: object) -> Patient:
    n = next(_seq)
    values: dict[str, object] = {
        "given_name": "Maria",
        "family_name": f"Testpatient{n}",
        "date_of_birth": date(1980, 1, 1) + timedelta(days=n),
        "sex": "female",
        "mobile_phone": f"+1312555{n % 10000:04d}",
        "email": f"patient{n}@example.com",
        "preferred_language": "en",
    }
    values.update(fields)
    patient = Patient(practice_id=practice.id, **values)
    patient.refresh_indexes()
    db.session.add(patient)
    db.session.commit()
    return patient


def make_appointment_type(practice: Practice, *, name: str = "Cleaning",
                          duration_minutes: int = 60) -> AppointmentType:
    kind = AppointmentType(practice_id=practice.id, name=name, duration_minutes=duration_minutes)
    db.session.add(kind)
    db.session.commit()
    return kind


def make_appointment(patient: Patient, provider: Provider, location: Location, *,
                     start_at: datetime | None = None,
                     appointment_type: AppointmentType | None = None,
                     status: str = "booked") -> Appointment:
    kind = appointment_type or make_appointment_type(
        db.session.get(Practice, patient.practice_id))
    start = start_at or (utcnow() + timedelta(days=1)).replace(minute=0, second=0,
                                                                microsecond=0)
    appointment = Appointment(practice_id=patient.practice_id, patient_id=patient.id,
                              provider_id=provider.id, location_id=location.id,
                              appointment_type_id=kind.id, start_at=start,
                              end_at=start + timedelta(minutes=kind.duration_minutes),
                              status=status)
    db.session.add(appointment)
    db.session.commit()
    return appointment


def make_staff(practice: Practice, *, role: str = "front_desk", email: str | None = None
               ) -> StaffUser:
    user = StaffUser(practice_id=practice.id, email=email or f"{role}{next(_seq)}@clinic.example",
                     display_name=f"Test {role}", role=role,
                     password_hash=_staff_password_hash())
    db.session.add(user)
    db.session.commit()
    return user


def make_message(patient: Patient | None, *, practice: Practice | None = None,
                 direction: str = "outbound", channel: str = "sms", body: str = "Hello",
                 status: str | None = None, created_at: datetime | None = None,
                 **fields: object) -> Message:
    """A message row as the outbox or the inbound router leaves it (sent or received)."""
    practice_id = practice.id if practice is not None else patient.practice_id
    at = created_at or utcnow()
    values: dict[str, object] = {
        "practice_id": practice_id, "patient_id": patient.id if patient else None,
        "direction": direction, "channel": channel, "body": body,
        "address": patient.mobile_phone if patient and channel == "sms" else None,
        "status": status or ("received" if direction == "inbound" else "sent"),
        "created_at": at, "updated_at": at,
    }
    if direction == "outbound" and values["status"] == "sent":
        values["sent_at"] = at
    values.update(fields)
    message = Message(**values)
    db.session.add(message)
    db.session.commit()
    return message
