"""The fee schedule (a fee and a copay per appointment type, managers edit it) and the
charge a fulfilled visit posts.

Billing subscribes to scheduling's ``AppointmentStatusChanged``: when a visit becomes
fulfilled (checked out) its fee is posted once (``visit:<appointment>``); when a fulfilled
visit is marked entered-in-error the charge is reversed by a correction, never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from app.billing import accounts
from app.billing.models import AdjustmentReason, EntryKind, FeeSchedule, LedgerEntry
from app.billing.money import AmountInvalid, parse_cents
from app.extensions import db
from app.patients.models import Patient
from app.practice.models import Location
from app.scheduling.events import AppointmentStatusChanged
from app.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from app.security import audit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeeRow:
    appointment_type_id: int
    name: str
    fee_cents: int | None
    copay_cents: int | None


def fee_rows(*, practice_id: int) -> list[FeeRow]:
    """Every active appointment type with its fee and copay (None: not priced yet)."""
    rows = db.session.execute(
        select(AppointmentType, FeeSchedule)
        .outerjoin(FeeSchedule, FeeSchedule.appointment_type_id == AppointmentType.id)
        .where(AppointmentType.practice_id == practice_id, AppointmentType.active.is_(True))
        .order_by(AppointmentType.name, AppointmentType.id)).all()
    return [FeeRow(kind.id, kind.name, fee.fee_cents if fee else None,
                   fee.copay_cents if fee else None) for kind, fee in rows]


def set_fee(*, practice_id: int, appointment_type_id: int, fee: str, copay: str,
            staff_id: int) -> FeeSchedule:
    """Price an appointment type (dollars as typed; an empty copay is none)."""
    errors: dict[str, str] = {}
    kind = db.session.get(AppointmentType, appointment_type_id) if appointment_type_id else None
    if kind is None or kind.practice_id != practice_id:
        errors["appointment_type"] = _("Choose an appointment type of this practice.")
    values = {}
    for field, text in (("fee", fee), ("copay", copay)):
        if field == "copay" and not (text or "").strip():
            values[field] = 0
            continue
        try:
            values[field] = parse_cents(text)
        except AmountInvalid as invalid:
            errors[field] = str(invalid)
    if not errors and values["copay"] > values["fee"]:
        errors["copay"] = _("A copay cannot be more than the fee.")
    if errors:
        raise accounts.LedgerInputError(errors)
    row = db.session.execute(select(FeeSchedule).where(
        FeeSchedule.appointment_type_id == appointment_type_id)).scalar_one_or_none()
    if row is None:
        row = FeeSchedule(practice_id=practice_id, appointment_type_id=appointment_type_id)
        db.session.add(row)
    row.fee_cents, row.copay_cents, row.updated_by_staff_id = (values["fee"], values["copay"],
                                                               staff_id)
    db.session.flush()
    audit.record("fee_schedule.update", object_type="appointment_type",
                 object_id=appointment_type_id,
                 detail={"fee_cents": values["fee"], "copay_cents": values["copay"]})
    db.session.commit()
    return row


def fee_for(appointment_type_id: int) -> FeeSchedule | None:
    return db.session.execute(select(FeeSchedule).where(
        FeeSchedule.appointment_type_id == appointment_type_id)).scalar_one_or_none()


def visit_description(appointment: Appointment) -> str:
    """"Visit on 2026-06-10" in the location's zone: no type, no clinical detail."""
    zone = ZoneInfo(db.session.get(Location, appointment.location_id).timezone)
    return f"Visit on {appointment.start_at.astimezone(zone).date().isoformat()}"


def on_status_changed(event: AppointmentStatusChanged) -> None:
    """Post (or reverse) the visit's charge inside the status change's transaction."""
    if event.new_status == AppointmentStatus.FULFILLED:
        fee = fee_for(event.appointment_type_id)
        if fee is None:
            log.info("visit %s fulfilled: its appointment type has no fee", event.appointment_id)
            return
        appointment = db.session.get(Appointment, event.appointment_id)
        accounts.post(patient=db.session.get(Patient, event.patient_id), kind=EntryKind.CHARGE,
                      amount_cents=fee.fee_cents, description=visit_description(appointment),
                      appointment_id=appointment.id, staff_id=event.staff_id,
                      source_key=f"visit:{appointment.id}")
    elif (event.old_status == AppointmentStatus.FULFILLED
          and event.new_status == AppointmentStatus.ENTERED_IN_ERROR):
        charge = db.session.execute(select(LedgerEntry).where(
            LedgerEntry.source_key == f"visit:{event.appointment_id}")).scalar_one_or_none()
        if charge is not None:
            accounts.post(patient=db.session.get(Patient, event.patient_id),
                          kind=EntryKind.ADJUSTMENT, reason=AdjustmentReason.CORRECTION,
                          amount_cents=-charge.amount_cents, description="Correction",
                          appointment_id=event.appointment_id, staff_id=event.staff_id,
                          source_key=f"visit-void:{event.appointment_id}")
