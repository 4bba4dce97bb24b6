"""JobTick: a periodic job's finished run for one tick (deployment-wide, no practice data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UTCDateTime
from app.extensions import db


class JobTick(db.Model):
    __tablename__ = "job_tick"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    tick_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
