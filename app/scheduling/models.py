from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
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


provider_appointment_type = Table(
    "provider_appointment_type",
    db.metadata,
    Column("provider_id", Integer, ForeignKey("provider.id", ondelete="CASCADE"), primary_key=True),
    Column("appointment_type_id", Integer, ForeignKey("appointment_type.id", ondelete="CASCADE"),
           primary_key=True),
)


class AppointmentType(PracticeScoped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # shown to patients: no clinical detail
    name_es: Mapped[str | None] = mapped_column(String(100))  # Spanish; empty: ``name``
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    for_new_patients: Mapped[bool] = mapped_column(Boolean, default=False)
    bookable_online: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Booking rules: no slot sooner than this many minutes from now, nor further than this
    # many days ahead.
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=120)
    max_days_ahead: Mapped[int] = mapped_column(Integer, default=90)

    providers = relationship("Provider", secondary=provider_appointment_type)

    def name_in(self, language: str) -> str:
        """The name in ``language`` ("es": the Spanish name when one is set), else English."""
        return self.name_es if language == "es" and self.name_es else self.name


class WorkingHours(PracticeScoped, db.Model):
    """A provider's recurring weekly hours at a location, in the location's local time (so a
    09:00 start stays 09:00 across a DST change)."""

    __table_args__ = (Index("ix_working_hours_provider", "provider_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday (date.weekday())
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class Schedule(PracticeScoped, db.Model):
    """A calendar that slots are offered from: one provider's at a location, or a whole
    location's (``provider_id`` None: any provider working there). One row per provider and
    location is kept by ``calendars.set_weekly_hours``; more may come through the FHIR API.

    ``active`` False withdraws the calendar from publication (FHIR Slot search, SMART
    Scheduling Links); staff booking is governed by the hours themselves. ``descriptive`` holds
    codings and identifiers an outside system sent (FHIR serviceCategory, serviceType,
    specialty, identifier) as JSON, kept as given and not interpreted; never PHI."""

    __table_args__ = (UniqueConstraint("practice_id", "location_id", "provider_id",
                                       name="uq_schedule_calendar"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id",
                                                               ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    comment: Mapped[str | None] = mapped_column(String(500))
    horizon_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    horizon_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    descriptive: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    location = relationship("Location")
    provider = relationship("Provider")


class ScheduleException(PracticeScoped, db.Model):
    """A one-off change to a provider's hours: time off (holiday, vacation, blocked time) or
    extra hours at a location. Stored in UTC."""

    __table_args__ = (Index("ix_schedule_exception_provider", "provider_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id",
                                                               ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "time_off" | "extra_hours"
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str | None] = mapped_column(String(120))  # "Thanksgiving", "Conference"


class Appointment(PracticeScoped, db.Model):
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
    # Written by journeys (the schedule shows them): the patient confirmed; texted that they
    # run late (minutes when said); not arrived some time after the start (for staff).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    running_late_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    running_late_minutes: Mapped[int | None] = mapped_column(Integer)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient = relationship("Patient")
    provider = relationship("Provider")
    location = relationship("Location")
    appointment_type = relationship("AppointmentType")


class AppointmentSeen(PracticeScoped, db.Model):
    """A staff member has looked at a visit booked online or filled from the waitlist (the
    desk's "new bookings" list): one row per visit and staff member."""

    __table_args__ = (UniqueConstraint("appointment_id", "staff_id",
                                       name="uq_appointment_seen_appointment_staff"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"),
                                          index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


waitlist_entry_provider = Table(
    "waitlist_entry_provider",
    db.metadata,
    Column("waitlist_entry_id", Integer, ForeignKey("waitlist_entry.id", ondelete="CASCADE"),
           primary_key=True),
    Column("provider_id", Integer, ForeignKey("provider.id", ondelete="CASCADE"),
           primary_key=True),
)


class WaitlistEntry(PracticeScoped, db.Model):
    """A patient waiting for an earlier time: for a type, at a location, with any of the
    chosen providers (none chosen = any), on preferred weekdays and times of day."""

    __table_args__ = (Index("ix_waitlist_entry_open", "practice_id", "status",
                            "appointment_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_type.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    weekdays: Mapped[str] = mapped_column(String(20), default="0,1,2,3,4,5,6")  # date.weekday()
    earliest_time: Mapped[time | None] = mapped_column(Time)  # local time of day
    latest_time: Mapped[time | None] = mapped_column(Time)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher is offered first
    status: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting|booked|removed
    source: Mapped[str] = mapped_column(String(20), default="staff")
    booked_appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    providers = relationship("Provider", secondary=waitlist_entry_provider)


class WaitlistOffer(PracticeScoped, db.Model):
    """A freed slot offered to a waiting patient by SMS; the first YES wins."""

    __table_args__ = (Index("ix_waitlist_offer_open", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entry.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_type.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # offered | accepted | taken (someone else won) | expired | declined
    status: Mapped[str] = mapped_column(String(20), default="offered")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OneTimeCode(PracticeScoped, db.Model):
    """A code texted to a phone to prove the person holds it (self-scheduling). Stored as a
    keyed hash; expires, is single-use, and allows a few attempts."""

    __table_args__ = (Index("ix_one_time_code_phone", "practice_id", "phone_index", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    phone_index: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
