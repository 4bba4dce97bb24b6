"""The set-up checklist of a new practice: which steps are done, by counts only.

Like the dashboard it reads across domains and holds no patient detail. No step depends on
another, so they may be done in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exists, func, select

from app.extensions import db
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider, provider_location
from app.scheduling.models import AppointmentType, WorkingHours
from app.security.models import StaffInvitation, StaffUser


class Step(StrEnum):
    DETAILS = "details"
    LOCATIONS = "locations"
    PROVIDERS = "providers"
    CALENDARS = "calendars"
    STAFF = "staff"
    SENDERS = "senders"
    PATIENTS = "patients"


@dataclass(frozen=True)
class StepState:
    step: Step
    done: bool
    count: int | None = None  # how many there are, where a number helps


def _count(statement: object) -> int:
    return db.session.execute(statement).scalar_one()  # type: ignore[call-overload]


def needs_setup(*, practice_id: int) -> bool:
    """No location or no provider yet: the practice cannot take a booking."""
    has_location = exists().where(Location.practice_id == practice_id)
    has_provider = exists().where(Provider.practice_id == practice_id)
    return not db.session.execute(select(has_location & has_provider)).scalar_one()


def checklist(*, practice_id: int, deployment_sms_sender: bool) -> list[StepState]:
    """Each step and whether it is done. ``deployment_sms_sender``: the installation has a
    default SMS sender (TWILIO_FROM_NUMBER or a Messaging Service), which a practice without
    its own uses."""
    practice = db.session.get_one(Practice, practice_id)
    locations = _count(select(func.count(Location.id))
                       .where(Location.practice_id == practice_id))
    providers = _count(select(func.count(func.distinct(Provider.id)))
                       .join(provider_location, provider_location.c.provider_id == Provider.id)
                       .where(Provider.practice_id == practice_id, Provider.active))
    types = _count(select(func.count(AppointmentType.id)).where(
        AppointmentType.practice_id == practice_id, AppointmentType.active))
    hours = _count(select(func.count(WorkingHours.id))
                   .join(Provider, Provider.id == WorkingHours.provider_id)
                   .where(Provider.practice_id == practice_id))
    staff = _count(select(func.count(StaffUser.id))
                   .where(StaffUser.practice_id == practice_id))
    invitations = _count(select(func.count(StaffInvitation.id)).where(
        StaffInvitation.practice_id == practice_id, StaffInvitation.revoked_at.is_(None)))
    patients = _count(select(func.count(Patient.id)).where(Patient.practice_id == practice_id))
    own_sms = bool(practice.sms_from_number or practice.sms_messaging_service_sid)
    return [
        StepState(Step.DETAILS, bool(practice.name and practice.phone and practice.email
                                     and practice.timezone)),
        StepState(Step.LOCATIONS, locations > 0, locations),
        StepState(Step.PROVIDERS, providers > 0, providers),
        StepState(Step.CALENDARS, types > 0 and hours > 0, types),
        StepState(Step.STAFF, staff > 1 or invitations > 0, staff),
        StepState(Step.SENDERS, own_sms or deployment_sms_sender),
        StepState(Step.PATIENTS, patients > 0, patients),
    ]
