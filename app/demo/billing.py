"""The demo practice's money: a fee schedule, the charges of past fulfilled visits with some
payments (by card, by insurance) so balances of every age show, and billing-text consent
(from the intake form) for about half of the patients with a mobile."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from app.billing.models import EntryKind, FeeSchedule, LedgerEntry
from app.messaging.conversations import contact_index
from app.messaging.models import ConsentEntry
from app.patients.models import Patient
from app.scheduling.models import Appointment, AppointmentStatus, AppointmentType

FEES = {"Cleaning": (15000, 2500), "Exam": (9500, 2500), "Filling": (22000, 4000),
        "New patient visit": (18000, 3500), "Emergency visit": (25000, 5000)}


def build_billing(*, rng: random.Random, practice_id: int, types: dict[str, AppointmentType],
                  appointments: list[Appointment], patients: list[Patient],
                  zones: dict[int, ZoneInfo]) -> list[object]:
    rows: list[object] = [FeeSchedule(practice_id=practice_id, appointment_type_id=kind.id,
                                      fee_cents=FEES[name][0], copay_cents=FEES[name][1])
                          for name, kind in types.items() if name in FEES]
    fee_of = {kind.id: FEES[name][0] for name, kind in types.items() if name in FEES}
    for visit in appointments:
        if visit.status != AppointmentStatus.FULFILLED or visit.appointment_type_id not in fee_of:
            continue
        fee = fee_of[visit.appointment_type_id]
        day = visit.start_at.astimezone(zones[visit.location_id]).date()
        rows.append(_entry(visit, EntryKind.CHARGE, fee, f"Visit on {day.isoformat()}",
                           visit.end_at, source_key=f"visit:{visit.id}"))
        outcome = rng.random()
        if outcome < 0.55:  # insurance paid most, the patient the rest
            insurer = fee * 7 // 10
            rows.append(_entry(visit, EntryKind.INSURANCE_PAYMENT, -insurer, "Insurance payment",
                               visit.end_at + timedelta(days=rng.randint(10, 25))))
            rows.append(_entry(visit, EntryKind.PATIENT_PAYMENT, insurer - fee, "Card payment",
                               visit.end_at + timedelta(days=rng.randint(1, 5))))
        elif outcome < 0.8:  # insurance only: the patient still owes their part
            rows.append(_entry(visit, EntryKind.INSURANCE_PAYMENT, -(fee * 7 // 10),
                               "Insurance payment",
                               visit.end_at + timedelta(days=rng.randint(10, 25))))
    for patient in patients:
        if patient.mobile_phone and rng.random() < 0.5:
            rows.append(ConsentEntry(
                practice_id=practice_id, channel="sms", purpose="billing", granted=True,
                contact_index=contact_index("sms", patient.mobile_phone), source="form",
                patient_id=patient.id))
    return rows


def _entry(visit: Appointment, kind: EntryKind, cents: int, description: str, at,  # noqa: ANN001
           source_key: str | None = None) -> LedgerEntry:
    return LedgerEntry(practice_id=visit.practice_id, patient_id=visit.patient_id,
                       guarantor_id=visit.patient_id, kind=kind, amount_cents=cents,
                       posted_at=at, description=description, appointment_id=visit.id,
                       source_key=source_key)
