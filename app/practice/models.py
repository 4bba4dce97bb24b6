from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import UTCDateTime
from app.extensions import db

provider_location = Table(
    "provider_location",
    db.metadata,
    Column("provider_id", Integer, ForeignKey("provider.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", Integer, ForeignKey("location.id", ondelete="CASCADE"), primary_key=True),
)


class Practice(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))  # E.164; the number patients call
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64))
    # Messaging policy: messages are sent only between these local times (47 CFR
    # 64.1200(c)(1); a stricter state window still applies), and non-urgent messages are
    # capped per patient (FCC 15-72: one a day, three a week).
    send_window_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    send_window_end: Mapped[time] = mapped_column(Time, default=time(21, 0))
    capped_per_day: Mapped[int] = mapped_column(Integer, default=1)
    capped_per_week: Mapped[int] = mapped_column(Integer, default=3)
    # This practice's senders. Inbound texts and status callbacks are routed to a practice by
    # the number or Messaging Service they were sent to, so each is owned by one practice.
    # Empty: the deployment's settings (TWILIO_*, SENDGRID_FROM_EMAIL) — a single-practice
    # install needs nothing here.
    sms_from_number: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164
    sms_messaging_service_sid: Mapped[str | None] = mapped_column(String(34), unique=True)
    email_from_address: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    locations: Mapped[list[Location]] = relationship(back_populates="practice",
                                                     order_by="Location.id")
    providers: Mapped[list[Provider]] = relationship(back_populates="practice",
                                                     order_by="Provider.id")


class Location(PracticeScoped, db.Model):
    __table_args__ = (UniqueConstraint("practice_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    timezone: Mapped[str] = mapped_column(String(64))  # IANA
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    practice: Mapped[Practice] = relationship(back_populates="locations")
    providers: Mapped[list[Provider]] = relationship(secondary=provider_location,
                                                     back_populates="locations")


class Provider(PracticeScoped, db.Model):
    """A practitioner who sees patients (FHIR Practitioner)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str | None] = mapped_column(String(20))  # "Dr."
    credentials: Mapped[str | None] = mapped_column(String(40))  # "DDS", "MD"
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    practice: Mapped[Practice] = relationship(back_populates="providers")
    locations: Mapped[list[Location]] = relationship(secondary=provider_location,
                                                     back_populates="providers")

    @property
    def display_name(self) -> str:
        name = f"{self.given_name} {self.family_name}"
        return f"{self.prefix} {name}" if self.prefix else name
