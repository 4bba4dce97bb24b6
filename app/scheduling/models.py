from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db


class AppointmentStatus(StrEnum):
    """FHIR R4 Appointment.status."""

    PROPOSED = "proposed"
    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    CHECKED_IN = "checked-in"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    ENTERED_IN_ERROR = "entered-in-error"


class ParticipantStatus(StrEnum):
    """FHIR participant status: the patient's own answer."""

    NEEDS_ACTION = "needs-action"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"


class AppointmentType(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # shown to patients: no clinical detail
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    for_new_patients: Mapped[bool] = mapped_column(Boolean, default=False)
    bookable_online: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Appointment(db.Model):
    __table_args__ = (
        Index("ix_appointment_provider_start", "provider_id", "start_at"),
        Index("ix_appointment_patient_start", "patient_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_type.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=AppointmentStatus.BOOKED)
    patient_status: Mapped[str] = mapped_column(String(20),
                                                default=ParticipantStatus.NEEDS_ACTION)
    cancel_reason: Mapped[str | None] = mapped_column(EncryptedText("appointment.cancel_reason"))
    note: Mapped[str | None] = mapped_column(EncryptedText("appointment.note"))
    source: Mapped[str] = mapped_column(String(20), default="staff")  # staff|patient|fhir|ehr|demo
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient = relationship("Patient")
    provider = relationship("Provider")
    location = relationship("Location")
    appointment_type = relationship("AppointmentType")
