"""What a changed mobile number or email means for messaging consent, told to staff when they
save a patient's contact points.

Consent is kept per contact point (the ledger is keyed by the number's or address's blind
index), so a new number starts from its own history — usually none: appointment texts
allowed, billing and marketing not granted — and an opt-out given on the old number stays
with the old number. Nothing is copied from one to the other; these notes say so, and warn
when the old number had opted out (the patient may want no texts at all) or when the new one
already has (nothing will be texted to it).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.messaging import consent
from app.messaging.consent_panel import (
    SHOWN_GROUPS,
    GroupState,
    group_state,
    patient_contact_points,
)
from app.messaging.conversations import contact_index
from app.messaging.message_history import display_address
from app.patients import services
from app.patients.models import Patient


@dataclass(frozen=True)
class ContactChange:
    channel: str  # sms | email
    old_address: str | None  # for display
    new_address: str | None
    old_opted_out_by: str | None  # the source of a standing opt-out, if any
    new_opted_out_by: str | None
    new_states: list[GroupState]  # the new contact point's own consent, per purpose group


def edit_patient(*, practice_id: int, patient_id: int, raw: dict[str, str]
                 ) -> list[ContactChange]:
    """Save staff's edit (``patients.services.edit_patient``: checked, audited, committed) and
    return the contact points it changed. Raises PatientInputError, PatientNotFound."""
    patient = db.session.get(Patient, patient_id)
    before = patient_contact_points(patient) if patient is not None else {}
    services.edit_patient(practice_id=practice_id, patient_id=patient_id, raw=raw)
    after = patient_contact_points(db.session.get_one(Patient, patient_id))
    return changes(practice_id=practice_id, before=before, after=after)


def changes(*, practice_id: int, before: dict[str, str], after: dict[str, str]
            ) -> list[ContactChange]:
    """The contact points that changed, with the opt-out standing on each side."""
    found = []
    for channel in ("sms", "email"):
        old, new = before.get(channel), after.get(channel)
        if old == new:
            continue
        found.append(ContactChange(
            channel=channel, old_address=display_address(channel, old) or None,
            new_address=display_address(channel, new) or None,
            old_opted_out_by=_opted_out(practice_id, channel, old),
            new_opted_out_by=_opted_out(practice_id, channel, new),
            new_states=[group_state(practice_id=practice_id, channel=channel,
                                    index=contact_index(channel, new), group=group)
                        for group in SHOWN_GROUPS] if new else []))
    return found


def _opted_out(practice_id: int, channel: str, address: str | None) -> str | None:
    if not address:
        return None
    return consent.opted_out_source(practice_id=practice_id, channel=channel,
                                    contact_index=contact_index(channel, address))
