"""The waitlist's states and what every part of it shares: an entry is waiting, booked or
removed; an offer is offered, then accepted, taken (by another patient), expired or declined."""

from __future__ import annotations

from app.core.errors import FieldErrors
from app.security import audit

WAITING, BOOKED, REMOVED = "waiting", "booked", "removed"
OFFERED, ACCEPTED, TAKEN, EXPIRED, DECLINED = "offered", "accepted", "taken", "expired", "declined"


class WaitlistInputError(FieldErrors):
    """``errors`` maps each bad field to a readable reason."""


def record_change(patient_id: int, object_type: str, object_id: int, change: str) -> None:
    audit.record(audit.Action.APPOINTMENT_CHANGE, patient_id=patient_id,
                 object_type=object_type, object_id=object_id, detail={"change": change})
