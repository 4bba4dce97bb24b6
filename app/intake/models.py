from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db


class Questionnaire(PracticeScoped, db.Model):
    """A form definition (FHIR Questionnaire). ``definition`` is the resource as JSON without
    id and meta: questions, never answers, so it is not PHI and is stored in clear."""

    __table_args__ = (Index("ix_questionnaire_url", "practice_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    url: Mapped[str | None] = mapped_column(String(255))  # canonical URL, as given
    version: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))  # draft | active | retired | unknown
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class QuestionnaireResponse(PracticeScoped, db.Model):
    """A patient's answers (FHIR QuestionnaireResponse). ``content`` is the resource as JSON
    without id and meta — answers are PHI, so it is encrypted; the columns beside it are what
    searches and the staff screens need."""

    __table_args__ = (Index("ix_questionnaire_response_patient", "patient_id", "authored_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    # None when the subject is not one of our patients (e.g. a contained resource).
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    questionnaire_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire.id"))
    questionnaire_ref: Mapped[str | None] = mapped_column(String(255))  # canonical, as given
    # in-progress | completed | amended | entered-in-error | stopped
    status: Mapped[str] = mapped_column(String(20))
    authored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[str] = mapped_column(EncryptedText("questionnaire_response.content"))
    source: Mapped[str] = mapped_column(String(20), default="fhir")  # fhir | patient | staff
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient = relationship("Patient")
    questionnaire = relationship("Questionnaire")
