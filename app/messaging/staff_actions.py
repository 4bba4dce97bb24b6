"""What staff change about a patient's messaging: consent (always with a reason), and the
decision on a text flagged as a likely opt-out.

Free text such as "please stop texting me" revokes nothing by itself (the phrases are
heuristics); FCC 24-24 still expects it honoured when it is a revocation, so staff confirm it
with one click, which records an SMS opt-out for the number, or dismiss it.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.extensions import db
from app.messaging import consent
from app.messaging.consent_panel import CHANNELS, PURPOSE_GROUPS, patient_contact_points
from app.messaging.conversations import contact_index, refresh_derived
from app.messaging.inbound import LIKELY_OPT_OUT
from app.messaging.message_history import patient_messages
from app.messaging.models import ConsentEntry, Direction, Message
from app.patients.models import Patient
from app.patients.queries import PatientNotFound
from app.security import audit

MAX_REASON_LENGTH = 300
HONOURED = "likely_opt_out_honoured"
DISMISSED = "likely_opt_out_dismissed"
# Opt-outs a provider enforces itself: Twilio blocks a number that replied STOP (or that the
# carrier reports unsubscribed) until the patient texts START; SendGrid keeps its suppressions.
_PATIENT_MUST_UNDO = {consent.ConsentSource.KEYWORD, consent.ConsentSource.CARRIER,
                      consent.ConsentSource.EMAIL_EVENT}


class ConsentInputError(FieldErrors):
    """The change cannot be recorded as asked: ``errors`` maps the form field at fault
    (``reason``, ``channel``, ``purpose``, ``granted``) to why, in the reader's language."""


class FlagNotFound(LookupError):
    """No message flagged as a likely opt-out with that id in the patient's log (or it was
    handled already)."""


def _patient(practice_id: int, patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise PatientNotFound(patient_id)
    return patient


def change_consent(*, practice_id: int, patient_id: int, channel: str, purpose_group: str,
                   granted: bool, reason: str, staff_id: int) -> list[ConsentEntry]:
    """Record a staff member's consent change for the patient's own contact point on
    ``channel``, for every purpose in ``purpose_group``; commits. Raises ConsentInputError
    or PatientNotFound."""
    patient = _patient(practice_id, patient_id)
    reason = " ".join(reason.split())
    if not reason:
        raise ConsentInputError({"reason": _(
            "Say why consent changes, e.g. “Patient asked by phone to stop texts”.")})
    if len(reason) > MAX_REASON_LENGTH:
        raise ConsentInputError({"reason": _("Use at most %(max)d characters.",
                                              max=MAX_REASON_LENGTH)})
    if channel not in CHANNELS:
        raise ConsentInputError({"channel": _("Choose one of the options offered.")})
    if purpose_group not in PURPOSE_GROUPS:
        raise ConsentInputError({"purpose": _("Choose one of the options offered.")})
    address = patient_contact_points(patient).get(channel)
    if address is None:
        raise ConsentInputError({"channel": _(
            "The patient has no contact point on file for this channel.")})
    index = contact_index(channel, address)
    if granted and purpose_group == "all" and consent.opted_out_source(
            practice_id=practice_id, channel=channel,
            contact_index=index) in _PATIENT_MUST_UNDO:
        raise ConsentInputError({"granted": _(
            "Only the patient can undo this opt-out: they replied STOP, or the carrier or the "
            "email service blocks them. Ask them to text START to the practice's number (or "
            "to resubscribe by email).")})
    entries = [consent.record(practice_id=practice_id, channel=channel, contact_index=index,
                              purpose=purpose, granted=granted,
                              source=consent.ConsentSource.STAFF, patient_id=patient_id,
                              staff_id=staff_id, reason=reason)
               for purpose in PURPOSE_GROUPS[purpose_group]]
    db.session.commit()
    return entries


def _settle_flag(practice_id: int, patient_id: int, message_id: int, outcome: str) -> Message:
    """Move the message from flagged to ``outcome`` once, even if two staff click at once."""
    _patient(practice_id, patient_id)
    in_log = patient_messages(practice_id=practice_id, patient_id=patient_id).where(
        Message.id == message_id).with_only_columns(Message.id)
    settled = db.session.execute(
        update(Message).where(Message.id.in_(in_log), Message.direction == Direction.INBOUND,
                              Message.status_reason == LIKELY_OPT_OUT)
        .values(status_reason=outcome, needs_staff_action=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not settled:
        db.session.rollback()
        raise FlagNotFound(message_id)
    message = db.session.get_one(Message, message_id)
    refresh_derived([message.conversation_id])
    return message


def honour_likely_opt_out(*, practice_id: int, patient_id: int, message_id: int,
                          staff_id: int) -> ConsentEntry:
    """Record an SMS opt-out (everything) for the number that sent the flagged message and
    clear the flag; commits. Raises FlagNotFound or PatientNotFound."""
    message = _settle_flag(practice_id, patient_id, message_id, HONOURED)
    entry = consent.record(practice_id=practice_id, channel="sms",
                           contact_index=contact_index("sms", message.address or ""),
                           purpose=consent.ALL, granted=False,
                           source=consent.ConsentSource.STAFF, patient_id=patient_id,
                           staff_id=staff_id, message_id=message.id,
                           reason=f"honoured free-text request: message #{message.id}")
    db.session.commit()
    return entry


def dismiss_likely_opt_out(*, practice_id: int, patient_id: int, message_id: int) -> None:
    """Staff read the flagged message and it is not a request to stop; commits."""
    _settle_flag(practice_id, patient_id, message_id, DISMISSED)
    audit.record(audit.Action.MESSAGE_REVIEW, patient_id=patient_id, object_type="message",
                 object_id=message_id, detail={"flag": LIKELY_OPT_OUT, "decision": DISMISSED})
    db.session.commit()
