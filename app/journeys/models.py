"""Journey rules: what a practice sends around a visit, per appointment type.

One row without an appointment type is the practice's default; a row for a type overrides
the journey itself (confirmation, reminders, follow-ups) for that type. The practice-wide
settings (review page and timing, no-show flagging) are read from the default row only.
No row at all means the defaults below.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import UTCDateTime
from app.extensions import db

DEFAULT_REMINDERS = "3d:sms 1d:sms+email 2h:sms"


class JourneyRule(PracticeScoped, db.Model):
    __table_args__ = (UniqueConstraint("practice_id", "appointment_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    appointment_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_type.id", ondelete="CASCADE"))
    confirmation: Mapped[bool] = mapped_column(Boolean, default=True)
    reminders: Mapped[str] = mapped_column(String(120), default=DEFAULT_REMINDERS)
    review: Mapped[bool] = mapped_column(Boolean, default=True)
    missed_you: Mapped[bool] = mapped_column(Boolean, default=True)
    apology: Mapped[bool] = mapped_column(Boolean, default=True)
    # Practice-wide: read from the default row only.
    review_url: Mapped[str | None] = mapped_column(String(300))
    review_delay_hours: Mapped[int] = mapped_column(Integer, default=2)
    review_period_days: Mapped[int] = mapped_column(Integer, default=180)
    no_show_after_minutes: Mapped[int] = mapped_column(Integer, default=30)
    auto_no_show: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
