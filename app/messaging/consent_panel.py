"""The consent panel on a patient's record: where the patient may be messaged, for what, and
every change that led there.

States come from ``consent.state`` (the ledger), so a number the carrier blocks (21610, recorded
as a revocation) or that replied STOP never shows as "on". Transactional covers appointment,
conversation and system messages: it is on only while all three are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.message_history import display_address
from app.messaging.models import ContactPointStatus, Purpose
from app.messaging.policy import patient_timezone
from app.patients.models import Patient
from app.patients.queries import PatientNotFound
from app.practice.models import Practice
from app.security import audit
from app.security.models import StaffUser

# What staff choose between, and the ledger purposes each stands for.
PURPOSE_GROUPS: dict[str, tuple[str, ...]] = {
    "transactional": (Purpose.APPOINTMENT, Purpose.CONVERSATION, Purpose.SYSTEM),
    "billing": (Purpose.BILLING,),
    "marketing": (Purpose.MARKETING,),
    "all": (consent.ALL,),
}
SHOWN_GROUPS = ("transactional", "billing", "marketing")
CHANNELS = ("sms", "email")


@dataclass(frozen=True)
class GroupState:
    group: str
    allowed: bool
    rule: str


@dataclass(frozen=True)
class ContactPointConsent:
    channel: str
    address: str  # for display
    states: list[GroupState]
    unusable_reason: str | None  # the provider said it cannot receive messages
    unusable_code: str | None
    opted_out_by: str | None  # source of a standing "stop everything" (keyword, carrier, ...)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime  # in the patient's zone
    channel: str
    purpose: str
    granted: bool
    source: str
    reason: str | None
    staff_name: str | None


@dataclass(frozen=True)
class ConsentOverview:
    patient_id: int
    patient_name: str
    points: list[ContactPointConsent]
    history: list[HistoryEntry]

    @property
    def channels(self) -> list[str]:
        return [point.channel for point in self.points]


def patient_contact_points(patient: Patient) -> dict[str, str]:
    """channel → the patient's own address on it (mobile for SMS, email), where on file."""
    found = {"sms": patient.mobile_phone, "email": patient.email}
    return {channel: address for channel, address in found.items() if address}


def group_state(*, practice_id: int, channel: str, index: str, group: str) -> GroupState:
    states = [consent.state(practice_id=practice_id, channel=channel, contact_index=index,
                            purpose=purpose) for purpose in PURPOSE_GROUPS[group]]
    refused = [s for s in states if not s.allowed]
    return GroupState(group=group, allowed=not refused, rule=(refused or states)[0].rule)


def consent_overview(*, practice_id: int, patient_id: int) -> ConsentOverview:
    """The patient's consent per contact point and purpose, and its history; audited and
    committed. Raises PatientNotFound."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise PatientNotFound(patient_id)
    zone = ZoneInfo(patient_timezone(patient, db.session.get_one(Practice, practice_id)))
    points = []
    indexes = []
    for channel, address in patient_contact_points(patient).items():
        index = contact_index(channel, address)
        indexes.append(index)
        status = db.session.execute(
            select(ContactPointStatus).where(ContactPointStatus.practice_id == practice_id,
                                             ContactPointStatus.channel == channel,
                                             ContactPointStatus.contact_index == index)
        ).scalar_one_or_none()
        unusable = status is not None and not status.usable
        points.append(ContactPointConsent(
            channel=channel, address=display_address(channel, address),
            states=[group_state(practice_id=practice_id, channel=channel, index=index,
                                group=group) for group in SHOWN_GROUPS],
            unusable_reason=status.reason if unusable else None,
            unusable_code=status.error_code if unusable else None,
            opted_out_by=consent.opted_out_source(practice_id=practice_id, channel=channel,
                                                  contact_index=index)))
    rows = consent.history(practice_id=practice_id, contact_indexes=indexes)
    names = _staff_names(practice_id, {row.staff_id for row in rows if row.staff_id})
    history = [HistoryEntry(at=row.at.astimezone(zone), channel=row.channel,
                            purpose=row.purpose, granted=row.granted, source=row.source,
                            reason=row.reason, staff_name=names.get(row.staff_id))
               for row in rows]
    overview = ConsentOverview(patient_id=patient_id, patient_name=patient.full_name,
                               points=points, history=history)
    audit.record(audit.Action.CONSENT_VIEW, patient_id=patient_id, object_type="patient",
                 object_id=patient_id, detail={"entries": len(history)})
    db.session.commit()
    return overview


def _staff_names(practice_id: int, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(
        select(StaffUser.id, StaffUser.display_name).where(StaffUser.practice_id == practice_id,
                                                           StaffUser.id.in_(ids))).all())
