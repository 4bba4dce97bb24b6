"""How a billing message may reach a patient. Billing texts are not covered by the FCC's
healthcare exemption (FCC 15-72): a payment link or balance goes by text only to a mobile
number with consent for billing messages (the messaging consent ledger, purpose billing,
recorded with its source and date), else by email where billing email is allowed; otherwise
staff are told why it cannot be sent. The dispatcher checks consent again at send time."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from app.messaging import consent
from app.messaging.conversations import contact_index
from app.messaging.models import Purpose
from app.patients.models import Patient


@dataclass(frozen=True)
class Reach:
    channel: str | None  # sms | email | None when neither may carry billing
    why_not_text: str | None  # shown to staff when the link cannot go by text


def billing_reach(patient: Patient) -> Reach:
    why_not_text = None
    if not patient.mobile_phone:
        why_not_text = _("No mobile number on file.")
    elif not _allowed(patient, "sms", patient.mobile_phone):
        why_not_text = _("The patient has not agreed to billing texts on their mobile "
                         "(record it in the consent panel with its source).")
    else:
        return Reach("sms", None)
    if patient.email and _allowed(patient, "email", patient.email):
        return Reach("email", why_not_text)
    return Reach(None, why_not_text + " " + (
        _("No email billing consent either.") if patient.email else _("No email on file.")))


def _allowed(patient: Patient, channel: str, address: str) -> bool:
    return consent.state(practice_id=patient.practice_id, channel=channel,
                         contact_index=contact_index(channel, address),
                         purpose=Purpose.BILLING).allowed
